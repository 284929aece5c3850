import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { at, notBefore } from '../sqlHelpers.ts';

export type CompleteOutcome =
  | { ok: true; duplicate: boolean; jobState: string | null }
  | { ok: false; reason: 'lease_lost' };

/**
 * Stores a result and moves its job on, in one statement, guarded by the lease: only a `leased` assignment of
 * this worker completes. The same upload again (a retry after a lost acknowledgement) finds the assignment
 * already `completed` by this lease and counts once (`duplicate`); anything else is `lease_lost`.
 */
export async function completeAssignment(
  db: Database,
  c: { leaseId: string; workerId: string; kind: string; body: unknown; bodyBytes: number; now: Date },
): Promise<CompleteOutcome> {
  const rows = await db.rows<{ n: number; job_state: string | null }>(sql`
    with a as (
      update assignments set state = 'completed', ended_at = ${notBefore(c.now, sql`leased_at`)}
      where lease_id = ${c.leaseId} and worker_id = ${c.workerId} and state = 'leased'
      returning id, job_id, volunteer_id, leased_at
    ), r as (
      insert into results (assignment_id, job_id, volunteer_id, kind, body, body_bytes, received_at, seconds)
      select a.id, a.job_id, a.volunteer_id, ${c.kind}, ${JSON.stringify(c.body)}::jsonb, ${c.bodyBytes}, ${at(c.now)},
             extract(epoch from (${at(c.now)} - a.leased_at))::float8
      from a returning id
    ), j as (
      update jobs set
        leased = jobs.leased - 1,
        completed = jobs.completed + 1,
        state = case when jobs.completed + 1 >= jobs.replicas then 'completed' else jobs.state end,
        finished_at = case when jobs.completed + 1 >= jobs.replicas then ${at(c.now)} else jobs.finished_at end,
        updated_at = ${at(c.now)}
      from a where jobs.id = a.job_id
      returning jobs.state
    )
    select (select count(*) from r)::int as n, (select state from j) as job_state`);
  const row = rows[0];
  if (row && row.n > 0) return { ok: true, duplicate: false, jobState: row.job_state };
  const prior = await db.rows<{ state: string }>(sql`
    select state from assignments where lease_id = ${c.leaseId} and worker_id = ${c.workerId}`);
  if (prior[0]?.state === 'completed') return { ok: true, duplicate: true, jobState: null };
  return { ok: false, reason: 'lease_lost' };
}
