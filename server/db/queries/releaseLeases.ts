import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { at, notBefore } from '../sqlHelpers.ts';

/**
 * Hands leases back without counting a failure (Ctrl-C, Pause, `bye`): one lease, or all of a worker's.
 * The jobs are offered again at once (from the release's time on). Returns how many leases were released.
 */
export async function releaseLeases(db: Database, r: { workerId: string; leaseId?: string; now: Date }): Promise<number> {
  const rows = await db.rows<{ n: number }>(sql`
    with a as (
      update assignments set state = 'released', ended_at = ${notBefore(r.now, sql`leased_at`)}, end_reason = 'worker_released'
      where worker_id = ${r.workerId} and state = 'leased' ${r.leaseId ? sql`and lease_id = ${r.leaseId}` : sql``}
      returning job_id, ended_at
    ), per_job as (select job_id, count(*)::int as n, max(ended_at) as ended_at from a group by job_id),
    j as (
      update jobs set leased = jobs.leased - per_job.n,
        state = case when jobs.state = 'active' then 'queued' else jobs.state end,
        -- offered again from the moment the lease ended, not before: a claim whose \`now\` was read before this
        -- release committed must not start a lease that overlaps the one just ended
        run_after = greatest(jobs.run_after, per_job.ended_at),
        updated_at = ${at(r.now)}
      from per_job where jobs.id = per_job.job_id
      returning jobs.id
    )
    select (select count(*) from a)::int as n`);
  return rows[0]?.n ?? 0;
}
