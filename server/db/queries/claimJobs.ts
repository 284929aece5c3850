import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { at, epochMs, textArray } from '../sqlHelpers.ts';

export interface ClaimedJob {
  jobId: string;
  leaseId: string;
  kind: string;
  payload: unknown;
  leaseDeadlineMs: number;
}

/**
 * Hands up to `max` due jobs to one worker in a single statement: pick queued jobs of the worker's kinds whose
 * required features it has, in shuffled order, `for update skip locked` so concurrent claims (other sockets,
 * other coordinators) never wait on or take the same row; count the attempt; insert one leased assignment
 * each. A job wanting several replicas stays `queued` until all of them are out, and never goes twice to
 * the same volunteer (replicas must be independent).
 */
export async function claimJobs(
  db: Database,
  /** `max`: the worker's slots (maxJobs); leases it already holds are subtracted here. */
  c: { workerId: string; volunteerId: number; kinds: readonly string[]; features: readonly string[]; max: number; now: Date; leaseMs: number },
): Promise<ClaimedJob[]> {
  if (c.max <= 0 || c.kinds.length === 0) return [];
  // Free slots are counted first, so that the claim's LIMIT is a constant: with a computed LIMIT the planner
  // expects thousands of rows and joins the update to a sequential scan of the whole queue.
  const held = await db.rows<{ n: number }>(sql`
    select count(*)::int as n from assignments where worker_id = ${c.workerId} and state = 'leased'`);
  const free = c.max - (held[0]?.n ?? 0);
  if (free <= 0) return [];
  return db.rows<ClaimedJob>(claimJobsSql({ ...c, max: free }));
}

/** The claim statement itself (exported so that its plan can be inspected with EXPLAIN). */
export function claimJobsSql(c: Parameters<typeof claimJobs>[1]): SQL {
  const deadline = new Date(c.now.getTime() + c.leaseMs);
  return sql`
    with picked as (
      select j.id from jobs j
      where j.state = 'queued' and j.kind = any(${textArray(c.kinds)}) and j.run_after <= ${at(c.now)}
        -- the equality is what the planner can estimate (most jobs require nothing); <@ alone is
        -- estimated at 0.5% and made it sort the whole queue instead of walking jobs_claim
        and (j.requires = '{}' or j.requires <@ ${textArray(c.features)})
        and (j.replicas = 1 or not exists (
          select 1 from assignments a
          where a.job_id = j.id and a.volunteer_id = ${c.volunteerId} and a.state in ('leased', 'completed')))
      -- must match jobs_claim exactly (desc nulls last) or the index cannot provide the order
      order by j.priority desc nulls last, j.shuffle_key
      limit ${c.max}
      for update of j skip locked
    ), claimed as (
      update jobs j set
        attempts = j.attempts + 1,
        leased = j.leased + 1,
        state = case when j.leased + 1 + j.completed >= j.replicas then 'active' else 'queued' end,
        updated_at = ${at(c.now)}
      from picked where j.id = picked.id
      returning j.id, j.kind, j.payload
    ), leased as (
      insert into assignments (job_id, lease_id, worker_id, volunteer_id, state, leased_at, lease_deadline)
      select claimed.id, gen_random_uuid(), ${c.workerId}, ${c.volunteerId}, 'leased', ${at(c.now)}, ${at(deadline)}
      from claimed
      returning job_id, lease_id, lease_deadline
    )
    select leased.job_id::text as "jobId", leased.lease_id::text as "leaseId", claimed.kind, claimed.payload,
           ${epochMs(sql`leased.lease_deadline`)} as "leaseDeadlineMs"
    from leased join claimed on claimed.id = leased.job_id`;
}
