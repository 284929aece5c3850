import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';

/** Leases a worker holds now; the scheduler never lets it hold more than its `maxJobs`. */
export async function countLeases(db: Database, workerId: string): Promise<number> {
  const rows = await db.rows<{ n: number }>(sql`select count(*)::int as n from assignments where worker_id = ${workerId} and state = 'leased'`);
  return rows[0]?.n ?? 0;
}
