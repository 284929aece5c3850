import { expireLeases } from './db/queries/expireLeases.ts';
import type { Deps } from './deps.ts';

export interface TransitionerSummary {
  expired: number;
  failedJobs: number;
}

/**
 * One pass of the transitioner: ends every lease past its deadline and puts (or parks) its job, in batches.
 * Safe to run in several coordinators at once (skip locked); tests call it directly with a fake clock.
 */
export async function runTransitionerOnce(deps: Pick<Deps, 'db' | 'clock'>, batch = 500): Promise<TransitionerSummary> {
  const total: TransitionerSummary = { expired: 0, failedJobs: 0 };
  for (;;) {
    const r = await expireLeases(deps.db, { now: deps.clock.now(), limit: batch });
    total.expired += r.expired;
    total.failedJobs += r.failedJobs;
    if (r.expired < batch) return total;
  }
}

/** Runs the transitioner every `intervalMs` until stopped; a failed pass is logged and retried next tick. */
export function startTransitioner(deps: Deps, onPass?: (s: TransitionerSummary) => void): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const timer = setInterval(() => {
    running = running.then(async () => {
      if (stopped) return;
      try {
        const s = await runTransitionerOnce(deps);
        if (s.expired) deps.log.info('leases expired', { ...s });
        onPass?.(s);
      } catch (err) {
        deps.log.error('transitioner pass failed', { error: String(err) });
      }
    });
  }, deps.config.transitionerIntervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
