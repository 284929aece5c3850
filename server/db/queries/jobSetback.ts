import { sql, type SQL } from 'drizzle-orm';
import { at } from '../sqlHelpers.ts';

/** Most failure records kept per job (newest last). */
export const MAX_ERRORS_KEPT = 10;
/** Backoff cap before a failed job is offered again. */
export const MAX_BACKOFF_SECONDS = 300;

/**
 * The SET clause for a job that lost `count` assignments to failure or expiry: free the leases, count the
 * failures, keep the reasons, and either park the job as `failed` (cap reached) or queue it again after an
 * exponential, capped, jittered backoff (pg-boss style), so a job that breaks every worker does not loop.
 * `jobs` must be the updated table's name in the statement.
 */
export function jobSetback(p: { count: SQL; now: Date; error: SQL }): SQL {
  const failures = sql`(jobs.failures + ${p.count})`;
  return sql`
    leased = jobs.leased - ${p.count},
    failures = ${failures},
    errors = (case when jsonb_array_length(jobs.errors) >= ${MAX_ERRORS_KEPT} then jobs.errors - 0 else jobs.errors end) || jsonb_build_array(${p.error}),
    state = case
      when jobs.state = 'completed' then 'completed'
      when ${failures} >= jobs.max_failures then 'failed'
      else 'queued' end,
    finished_at = case when jobs.state <> 'completed' and ${failures} >= jobs.max_failures then ${at(p.now)} else jobs.finished_at end,
    run_after = ${at(p.now)} + make_interval(secs => least(power(2, ${failures})::float8, ${MAX_BACKOFF_SECONDS}) * (0.5 + random() / 2)),
    updated_at = ${at(p.now)}`;
}
