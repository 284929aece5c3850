import { sql } from 'drizzle-orm';
import type { Progress } from '../../../shared/protocol/job.ts';
import type { Database } from '../database.ts';
import { at, epochMs } from '../sqlHelpers.ts';

/** Extends a live lease to now + leaseMs. Null when the lease is no longer this worker's to extend. */
export async function heartbeatLease(
  db: Database,
  h: { leaseId: string; workerId: string; now: Date; leaseMs: number; progress?: Progress },
): Promise<{ leaseDeadlineMs: number } | null> {
  const deadline = new Date(h.now.getTime() + h.leaseMs);
  const rows = await db.rows<{ leaseDeadlineMs: number }>(sql`
    update assignments set heartbeat_at = ${at(h.now)}, lease_deadline = ${at(deadline)},
      progress = coalesce(${h.progress ? JSON.stringify(h.progress) : null}::jsonb, progress)
    where lease_id = ${h.leaseId} and worker_id = ${h.workerId} and state = 'leased'
    returning ${epochMs(sql`lease_deadline`)} as "leaseDeadlineMs"`);
  return rows[0] ?? null;
}
