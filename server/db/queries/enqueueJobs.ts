import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { at, textArray } from '../sqlHelpers.ts';

export interface NewJob {
  kind: string;
  payload: unknown;
  requires?: readonly string[];
  priority?: number;
  replicas?: number;
  maxFailures?: number;
  source?: string | null;
}

/** Bulk inserts of at least this many jobs refresh the planner's statistics. */
export const ANALYZE_AFTER_ROWS = 1000;

/** Inserts jobs (due from `now`, default the database's clock) in batches (one statement per 500) and returns their ids in order. */
export async function enqueueJobs(db: Database, jobs: readonly NewJob[], now?: Date): Promise<number[]> {
  const runAfter = now ? at(now) : sql`now()`;
  const ids: number[] = [];
  for (let i = 0; i < jobs.length; i += 500) {
    const chunk = jobs.slice(i, i + 500);
    const values = chunk.map((j) => sql`(${j.kind}, ${JSON.stringify(j.payload)}::jsonb, ${textArray(j.requires ?? [])},
      ${j.priority ?? 0}, ${j.replicas ?? 1}, ${j.maxFailures ?? 5}, ${j.source ?? null}, ${runAfter}, ${runAfter})`);
    const rows = await db.rows<{ id: number }>(sql`
      insert into jobs (kind, payload, requires, priority, replicas, max_failures, source, run_after, created_at)
      values ${sql.join(values, sql`, `)} returning id::float8 as id`);
    ids.push(...rows.map((r) => r.id));
  }
  // Fresh statistics after a bulk insert: without them the planner guesses a tiny queue and sorts all of
  // it on every claim instead of walking jobs_claim (100k queued jobs: 200 ms per claim instead of 1 ms).
  // PostgreSQL's autovacuum would get there eventually; PGlite has none.
  if (jobs.length >= ANALYZE_AFTER_ROWS) await db.rows(sql`analyze jobs`);
  return ids;
}
