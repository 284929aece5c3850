import { sql } from 'drizzle-orm';
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
  const deadline = new Date(c.now.getTime() + c.leaseMs);
  return db.rows<ClaimedJob>(sql`
    with picked as (
      select j.id from jobs j
      where j.state = 'queued' and j.kind = any(${textArray(c.kinds)}) and j.run_after <= ${at(c.now)}
        and j.requires <@ ${textArray(c.features)}
        and (j.replicas = 1 or not exists (
          select 1 from assignments a
          where a.job_id = j.id and a.volunteer_id = ${c.volunteerId} and a.state in ('leased', 'completed')))
      order by j.priority desc, j.shuffle_key
      -- never more than the worker's free slots, counted in the same statement
      limit greatest(0, ${c.max} - (select count(*) from assignments h where h.worker_id = ${c.workerId} and h.state = 'leased'))
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
    from leased join claimed on claimed.id = leased.job_id`);
}
