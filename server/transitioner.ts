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
