import { z } from 'zod';
import type { JobKind } from './kind.ts';

/**
 * A job that does no crawling: the reference client and `crawlswarm agent --dry-run` run it to exercise
 * the queue, leases and the protocol before (or without) the real kinds. The result is a deterministic
 * function of the payload, so replicas of it can be compared the way real results will be.
 */
export const NoopPayload = z.object({ seq: z.number().int().nonnegative(), workMs: z.number().int().min(0).max(60_000).default(0) });
export type NoopPayload = z.infer<typeof NoopPayload>;
export const NoopResult = z.object({ seq: z.number().int().nonnegative(), digest: z.string().length(8) });
export type NoopResult = z.infer<typeof NoopResult>;

export const noopKind: JobKind<NoopPayload, NoopResult> = {
  kind: 'noop',
  payload: NoopPayload,
  result: NoopResult,
  requires: [],
};

/** FNV-1a of the sequence number: cheap, deterministic, identical in every runtime. */
export function runNoop(payload: NoopPayload): NoopResult {
  let h = 0x811c9dc5;
  for (const ch of String(payload.seq)) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return { seq: payload.seq, digest: h.toString(16).padStart(8, '0') };
}
