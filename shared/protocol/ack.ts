import { z } from 'zod';

/** Every acknowledgement is `{ ok: true, ... }` or one of these failures. */
export const FAILURE_REASONS = [
  'bad_request', // the message did not match its schema: nothing was changed
  'unauthorized', // missing or unknown token
  'version_too_old', // the client must update
  'not_ready', // `hello` has not been sent yet
  'lease_lost', // the lease expired, was handed back, or belongs to another worker
  'rate_limited',
  'internal', // a bug or a database failure on the coordinator: safe to retry later
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export const AckFailure = z.object({
  ok: z.literal(false),
  reason: z.enum(FAILURE_REASONS),
  detail: z.string(),
});
export type AckFailure = z.infer<typeof AckFailure>;

/** Builds the schema of an acknowledgement whose success carries `shape`. */
export function ackOf<S extends z.ZodRawShape>(shape: S) {
  return z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), ...shape }), AckFailure]);
}

export function failure(reason: FailureReason, detail: string): AckFailure {
  return { ok: false, reason, detail };
}
