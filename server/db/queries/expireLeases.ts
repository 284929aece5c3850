import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { at } from '../sqlHelpers.ts';
import { jobSetback } from './jobSetback.ts';

/**
 * Ends leases whose deadline has passed (`lease_expired` when the worker never sent a heartbeat,
 * `heartbeat_missed` when heartbeats stopped) and puts their jobs back, counting a failure each. Works in
 * batches of `limit`, skipping rows another coordinator is expiring right now.
 */
export async function expireLeases(db: Database, e: { now: Date; limit: number }): Promise<{ expired: number; failedJobs: number }> {
  const rows = await db.rows<{ expired: number; failed_jobs: number }>(sql`
    with due as (
      select id from assignments
      where state = 'leased' and lease_deadline <= ${at(e.now)}
      order by lease_deadline limit ${e.limit}
      for update skip locked
    ), a as (
      update assignments set state = 'expired', ended_at = ${at(e.now)},
        end_reason = case when heartbeat_at is null then 'lease_expired' else 'heartbeat_missed' end
      from due where assignments.id = due.id
      returning assignments.job_id, assignments.worker_id, assignments.end_reason
    ), per_job as (
      select job_id, count(*)::int as n, max(end_reason) as reason, max(worker_id::text) as worker from a group by job_id
    ), j as (
      update jobs set ${jobSetback({
        count: sql`per_job.n`,
        now: e.now,
        error: sql`jsonb_build_object('at', ${e.now.toISOString()}::text, 'reason', per_job.reason, 'transient', true, 'worker', per_job.worker)`,
      })}
      from per_job where jobs.id = per_job.job_id
      returning jobs.state
    )
    select (select count(*) from a)::int as expired, (select count(*) from j where state = 'failed')::int as failed_jobs`);
  return { expired: rows[0]?.expired ?? 0, failedJobs: rows[0]?.failed_jobs ?? 0 };
}
