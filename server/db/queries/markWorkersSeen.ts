import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { at } from '../sqlHelpers.ts';

/**
 * Marks the workers connected to this coordinator as seen now. An idle client sends nothing between its hello
 * and its next job, so without this pass a tab that waited a minute for work would count as gone; and a
 * coordinator that is killed stops renewing its workers, so they drop out of "online" without a disconnect.
 * A live socket also clears `disconnected_at`: a client that reconnected before its old socket timed out
 * would otherwise be marked gone by that old socket's late disconnect.
 */
export async function markWorkersSeen(db: Database, workerIds: readonly string[], now: Date): Promise<number> {
  let n = 0;
  // one statement per thousand keeps the parameter list well under PostgreSQL's limit
  for (let i = 0; i < workerIds.length; i += 1000) {
    const ids = workerIds.slice(i, i + 1000);
    const rows = await db.rows<{ id: string }>(sql`
      update workers set last_seen_at = ${at(now)}, disconnected_at = null
      where id in (${sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `)})
      returning id`);
    n += rows.length;
  }
  return n;
}
