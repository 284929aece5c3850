import type { z } from 'zod';
import { failure, type AckFailure } from '../../shared/protocol/ack.ts';
import type { Logger } from '../log.ts';
import type { CoordinatorSocket } from './types.ts';

/**
 * Wraps one event handler: validate first (types are not validation), answer through the acknowledgement,
 * and turn a throw into `internal` plus a log line. A client that sends no callback is disconnected, since it
 * cannot be speaking this protocol.
 */
export function handle<S extends z.ZodType, A extends { ok: boolean }>(
  socket: CoordinatorSocket,
  log: Logger,
  event: string,
  schema: S,
  fn: (message: z.output<S>) => Promise<A | AckFailure>,
) {
  return async (raw: unknown, ack: unknown) => {
    if (typeof ack !== 'function') {
      log.warn('event without acknowledgement; disconnecting', { event, socket: socket.id });
      socket.disconnect(true);
      return;
    }
    const reply = ack as (answer: A | AckFailure) => void;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      reply(failure('bad_request', `${event}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ')}`));
      return;
    }
    try {
      reply(await fn(parsed.data));
    } catch (err) {
      log.error('handler failed', { event, error: (err as Error).stack ?? String(err) });
      reply(failure('internal', `${event}: the coordinator failed to handle this message; try again later`));
    }
  };
}
