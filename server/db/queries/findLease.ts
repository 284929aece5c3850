import { sql } from 'drizzle-orm';
import type { AssignmentState } from '../../../shared/states.ts';
import type { Database } from '../database.ts';

export interface LeaseRow {
  assignmentId: number;
  jobId: string;
  kind: string;
  state: AssignmentState;
  payload: unknown;
}

/** The assignment behind a lease id, only if it belongs to this worker. */
export async function findLease(db: Database, leaseId: string, workerId: string): Promise<LeaseRow | null> {
  const rows = await db.rows<LeaseRow>(sql`
    select a.id::float8 as "assignmentId", a.job_id::text as "jobId", j.kind, a.state, j.payload
    from assignments a join jobs j on j.id = a.job_id
    where a.lease_id = ${leaseId} and a.worker_id = ${workerId}`);
  return rows[0] ?? null;
}
