import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { at } from '../sqlHelpers.ts';

/** Marks a worker as seen now, or as gone when `disconnected` is set. */
export async function touchWorker(db: Database, workerId: string, now: Date, disconnected = false): Promise<void> {
  await db.rows(sql`
    update workers set last_seen_at = ${at(now)}, disconnected_at = ${disconnected ? at(now) : sql`null`}
    where id = ${workerId}`);
}
