import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { at } from '../sqlHelpers.ts';

export interface JobStats {
  jobs: Record<string, Record<string, number>>;
  workersOnline: { browser: number; node: number };
}

/** Jobs by kind and state, and workers seen within `onlineWindowMs` that have not disconnected. */
export async function jobStats(db: Database, q: { now: Date; onlineWindowMs: number }): Promise<JobStats> {
  const jobs = await db.rows<{ kind: string; state: string; n: number }>(sql`
    select kind, state, count(*)::int as n from jobs group by kind, state`);
  const since = new Date(q.now.getTime() - q.onlineWindowMs);
  const workers = await db.rows<{ kind: 'browser' | 'node'; n: number }>(sql`
    select kind, count(*)::int as n from workers
    where disconnected_at is null and last_seen_at >= ${at(since)} group by kind`);
  const out: JobStats = { jobs: {}, workersOnline: { browser: 0, node: 0 } };
  for (const r of jobs) (out.jobs[r.kind] ??= {})[r.state] = r.n;
  for (const r of workers) out.workersOnline[r.kind] = r.n;
  return out;
}
