import type { Assignment, Progress } from '../protocol/job.ts';

export type ExecutionOutcome =
  | { ok: true; result: unknown }
  | { ok: false; reason: string; detail: string; transient: boolean };

export interface ExecutionContext {
  /** Aborted when the lease is lost, the job is handed back (Pause, Ctrl-C) or the client stops. */
  signal: AbortSignal;
  /** Reported with the next heartbeat. */
  progress(p: Progress): void;
}

/** Runs one kind of job. The same executors run in the agent and in the page's Web Worker. */
export interface JobExecutor {
  run(job: Assignment, ctx: ExecutionContext): Promise<ExecutionOutcome>;
}
