import { z } from 'zod';
import { ackOf } from './ack.ts';
import { WORKER_KINDS } from '../states.ts';

export const BACKENDS = ['webgpu', 'wasm', 'cpu', 'cuda'] as const;

/**
 * What a client can do. The scheduler only hands out jobs whose `kind` is in `jobKinds` and whose
 * `requires` features are all in `features` (e.g. `fetch:cross-origin`, which browsers lack).
 */
export const Capabilities = z.object({
  jobKinds: z.array(z.string().min(1).max(40)).min(1).max(20),
  backends: z.array(z.enum(BACKENDS)).max(4).default([]),
  features: z.array(z.string().min(1).max(60)).max(40).default([]),
  /** How many jobs the client runs at once; the scheduler never leases it more. */
  maxJobs: z.number().int().min(1).max(64).default(1),
});
export type Capabilities = z.infer<typeof Capabilities>;

/** `hello`: the first event after connecting. `sessionId` is chosen by the client and survives reconnects,
 * so a client that lost its connection (or whose coordinator restarted) can still finish its leases. */
export const Hello = z.object({
  sessionId: z.uuid(),
  kind: z.enum(WORKER_KINDS),
  capabilities: Capabilities,
  userAgent: z.string().max(300).optional(),
});
export type Hello = z.infer<typeof Hello>;

export const HelloAck = ackOf({
  workerId: z.uuid(),
  volunteer: z.object({ id: z.number().int(), nickname: z.string(), team: z.string().nullable() }),
  /** How often to send `job:heartbeat` for each lease. */
  heartbeatMs: z.number().int().positive(),
  leaseMs: z.number().int().positive(),
  /** Leases this session still holds from before a reconnect. */
  leases: z.array(z.uuid()),
});
export type HelloAck = z.infer<typeof HelloAck>;

export const Bye = z.object({ reason: z.string().max(200).optional() }).default({});
export const ByeAck = ackOf({ released: z.number().int() });
export type ByeAck = z.infer<typeof ByeAck>;
