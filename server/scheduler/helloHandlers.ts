import { failure } from '../../shared/protocol/ack.ts';
import { Bye, Hello, type ByeAck, type HelloAck } from '../../shared/protocol/hello.ts';
import { releaseLeases } from '../db/queries/releaseLeases.ts';
import { touchWorker } from '../db/queries/touchWorker.ts';
import { upsertWorker } from '../db/queries/upsertWorker.ts';
import type { Deps } from '../deps.ts';
import { handle } from './handle.ts';
import type { CoordinatorSocket } from './types.ts';

/** `hello` registers the worker session; `bye` hands back its leases; a dropped socket only marks it gone
 * (its leases run on: the client may be back in a second, e.g. after a coordinator restart). */
export function registerHelloHandlers(socket: CoordinatorSocket, deps: Deps, track: (work: Promise<unknown>) => void): void {
  socket.on('hello', handle(socket, deps.log, 'hello', Hello, async (m): Promise<HelloAck> => {
    const { volunteer } = socket.data;
    const res = await upsertWorker(deps.db, {
      id: m.sessionId,
      volunteerId: volunteer.id,
      kind: m.kind,
      capabilities: m.capabilities,
      clientVersion: socket.data.clientVersion,
      protocolVersion: socket.data.protocolVersion,
      address: socket.handshake.address ?? null,
      userAgent: m.userAgent ?? socket.handshake.headers['user-agent'] ?? null,
      coordinatorId: deps.config.coordinatorId,
      now: deps.clock.now(),
    });
    if (!res.ok) return failure('unauthorized', 'this sessionId belongs to another volunteer; generate a new one');
    socket.data.worker = { id: m.sessionId, capabilities: m.capabilities };
    deps.log.debug('worker hello', { worker: m.sessionId, kind: m.kind, volunteer: volunteer.nickname });
    return {
      ok: true,
      workerId: m.sessionId,
      volunteer: { id: volunteer.id, nickname: volunteer.nickname, team: volunteer.team },
      heartbeatMs: deps.config.heartbeatMs,
      leaseMs: deps.config.leaseMs,
      leases: res.leases,
    };
  }));

  socket.on('bye', handle(socket, deps.log, 'bye', Bye, async (): Promise<ByeAck> => {
    const worker = socket.data.worker;
    if (!worker) return { ok: true, released: 0 };
    const now = deps.clock.now();
    const released = await releaseLeases(deps.db, { workerId: worker.id, now });
    await touchWorker(deps.db, worker.id, now, true);
    return { ok: true, released };
  }));

  socket.on('disconnect', () => {
    const worker = socket.data.worker;
    if (!worker) return;
    track(touchWorker(deps.db, worker.id, deps.clock.now(), true).catch((err) =>
      deps.log.warn('could not mark worker disconnected', { worker: worker.id, error: String(err) })));
  });
}
