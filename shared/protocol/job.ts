import { z } from 'zod';
import { ackOf } from './ack.ts';

/** `job:request`: ask for up to `max` jobs. An empty answer means "nothing for you now"; wait for
 * `job:available` or poll again later. */
export const JobRequest = z.object({ max: z.number().int().min(1).max(64).default(1) });
export type JobRequest = z.infer<typeof JobRequest>;

export const Assignment = z.object({
  jobId: z.string(),
  leaseId: z.uuid(),
  kind: z.string(),
  /** Validated by the client against the kind's payload schema (shared/jobs/). */
  payload: z.unknown(),
  leaseDeadline: z.string(),
});
export type Assignment = z.infer<typeof Assignment>;

export const JobRequestAck = ackOf({ jobs: z.array(Assignment) });
export type JobRequestAck = z.infer<typeof JobRequestAck>;

export const Progress = z.object({
  done: z.number().nonnegative(),
  total: z.number().nonnegative().optional(),
  unit: z.string().max(20).optional(),
  bytes: z.number().nonnegative().optional(),
  /** What `bytes` counts up to, when known (a WAT slice's length). */
  totalBytes: z.number().nonnegative().optional(),
});
export type Progress = z.infer<typeof Progress>;

/** How far a job is, 0..1, from items (done/total) or else bytes (bytes/totalBytes); null when unknown. */
export function progressFraction(p: Progress): number | null {
  if (p.total) return Math.min(1, p.done / p.total);
  if (p.totalBytes && p.bytes !== undefined) return Math.min(1, p.bytes / p.totalBytes);
  return null;
}

/** `job:heartbeat`: keeps a lease alive, optionally with progress. */
export const Heartbeat = z.object({ leaseId: z.uuid(), progress: Progress.optional() });
export type Heartbeat = z.infer<typeof Heartbeat>;
export const HeartbeatAck = ackOf({ leaseDeadline: z.string() });
export type HeartbeatAck = z.infer<typeof HeartbeatAck>;

/** `job:complete`: the result, validated on the coordinator against the kind's result schema. */
export const Complete = z.object({ leaseId: z.uuid(), result: z.unknown() });
export type Complete = z.infer<typeof Complete>;
/** `duplicate`: this lease was already completed; the upload counted once. */
export const CompleteAck = ackOf({ duplicate: z.boolean() });
export type CompleteAck = z.infer<typeof CompleteAck>;

/** `job:fail`: the client could not run the job. `transient` failures count towards the job's failure cap
 * like permanent ones; they differ in the backoff before the next try. */
export const Fail = z.object({
  leaseId: z.uuid(),
  reason: z.string().regex(/^[a-z][a-z0-9_-]{0,40}$/),
  detail: z.string().max(2000).default(''),
  transient: z.boolean().default(true),
});
export type Fail = z.infer<typeof Fail>;
export const FailAck = ackOf({ jobState: z.string() });
export type FailAck = z.infer<typeof FailAck>;

/** `job:release`: hand a job back unfinished (Ctrl-C, Pause) without it counting as a failure. */
export const Release = z.object({ leaseId: z.uuid() });
export type Release = z.infer<typeof Release>;
export const ReleaseAck = ackOf({});
export type ReleaseAck = z.infer<typeof ReleaseAck>;

/** Server to client: new jobs may be available; clients that got an empty answer ask again. */
export const JobAvailable = z.object({ kinds: z.array(z.string()) });
export type JobAvailable = z.infer<typeof JobAvailable>;
