import type { JobExecutor } from '../../shared/client/executor.ts';
import { NoopPayload, runNoop } from '../../shared/jobs/noop.ts';

export interface ExecutorOptions {
  dryRun: boolean;
}

export const noopExecutor: JobExecutor = {
  async run(job, ctx) {
    const payload = NoopPayload.parse(job.payload);
    if (payload.workMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, payload.workMs);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return { ok: true, result: runNoop(payload) };
  },
};

/** The executors this agent offers, by job kind. `--dry-run` runs only the no-op kind. */
export function agentExecutors(opts: ExecutorOptions): Record<string, JobExecutor> {
  const all: Record<string, JobExecutor> = { noop: noopExecutor };
  if (opts.dryRun) return { noop: noopExecutor };
  return all;
}
