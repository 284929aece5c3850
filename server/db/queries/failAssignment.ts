import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { at, notBefore } from '../sqlHelpers.ts';
import { jobSetback } from './jobSetback.ts';

/** A worker reports that it could not run its job. Null when the lease is not this worker's any more. */
export async function failAssignment(
  db: Database,
  f: { leaseId: string; workerId: string; reason: string; detail: string; transient: boolean; now: Date },
): Promise<{ jobState: string } | null> {
  const error = sql`jsonb_build_object('at', ${f.now.toISOString()}::text, 'reason', ${f.reason}::text,
    'detail', ${f.detail.slice(0, 500)}::text, 'transient', ${f.transient}::boolean, 'worker', ${f.workerId}::text)`;
  const rows = await db.rows<{ state: string }>(sql`
    with a as (
      update assignments set state = 'failed', ended_at = ${notBefore(f.now, sql`leased_at`)}, end_reason = 'worker_failed',
        fail_reason = ${f.reason}, fail_detail = ${f.detail.slice(0, 2000)}
      where lease_id = ${f.leaseId} and worker_id = ${f.workerId} and state = 'leased'
      returning job_id
    )
    update jobs set ${jobSetback({ count: sql`1`, now: f.now, error })}
    from a where jobs.id = a.job_id
    returning jobs.state`);
  return rows[0] ? { jobState: rows[0].state } : null;
}
