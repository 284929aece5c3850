import { sql } from 'drizzle-orm';
import { WorkClient } from '../../shared/client/workClient.ts';
import { NoopPayload, runNoop } from '../../shared/jobs/noop.ts';
import type { Database } from '../../server/db/database.ts';

/** A crowd of real protocol clients running noop jobs, recording what each one did and when. */
export function startSwarm(url: string, tokens: string[], clients: number, maxJobs = 2) {
  const accepted = new Map<string, number>(); // jobId -> first-time (non-duplicate) acceptances
  const duplicates = { n: 0 };
  const running = new Map<string, string>(); // jobId -> client index running it now
  const overlaps: string[] = [];
  const all: WorkClient[] = [];
  for (let i = 0; i < clients; i++) {
    const c = new WorkClient({
      url, token: tokens[i % tokens.length]!, kind: 'node',
      capabilities: { jobKinds: ['noop'], backends: [], features: [], maxJobs },
      executors: {
        noop: {
          async run(job) {
            const holder = running.get(job.jobId);
            if (holder !== undefined) overlaps.push(`job ${job.jobId} ran on client ${holder} and ${i} at once`);
            running.set(job.jobId, String(i));
            await new Promise((r) => setTimeout(r, Math.random() * 10));
            running.delete(job.jobId);
            return { ok: true, result: runNoop(NoopPayload.parse(job.payload)) };
          },
        },
      },
      idlePollMs: 300,
      ackTimeoutMs: 5_000,
      socketOptions: { forceNew: true, transports: ['websocket'] },
      onEvent: (e) => {
        if (e.type === 'job:done' && e.accepted) {
          // A duplicate is a retried upload whose first acknowledgement was lost (e.g. the coordinator died
          // after committing): the job is done, and the coordinator counted it once.
          if (e.duplicate) duplicates.n++;
          accepted.set(e.job.jobId, (accepted.get(e.job.jobId) ?? 0) + (e.duplicate ? 0 : 1));
        }
      },
    });
    all.push(c);
    c.start();
  }
  return {
    accepted, duplicates, overlaps, clients: all,
    async waitFor(count: number, timeoutMs: number) {
      const until = Date.now() + timeoutMs;
      while (accepted.size < count && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      return accepted.size;
    },
    stop: () => Promise.all(all.map((c) => c.stop())),
  };
}

/** Checks the database's side of "every job done exactly once, none leased to two workers at once". */
export async function auditQueue(db: Database) {
  const states = await db.rows<{ state: string; n: number }>(sql`select state, count(*)::int as n from jobs group by state order by state`);
  const multi = await db.rows<{ n: number }>(sql`
    select count(*)::int as n from (select job_id from results group by job_id having count(*) <> 1) x`);
  const missing = await db.rows<{ n: number }>(sql`
    select count(*)::int as n from jobs j where not exists (select 1 from results r where r.job_id = j.id)`);
  // two assignments of one job whose lease intervals intersect
  const overlapping = await db.rows<{ n: number }>(sql`
    select count(*)::int as n from assignments a join assignments b on a.job_id = b.job_id and a.id < b.id
    where b.leased_at < coalesce(a.ended_at, 'infinity'::timestamptz) and a.leased_at < coalesce(b.ended_at, 'infinity'::timestamptz)`);
  const leased = await db.rows<{ n: number }>(sql`select count(*)::int as n from assignments where state = 'leased'`);
  return {
    states: Object.fromEntries(states.map((r) => [r.state, r.n])),
    jobsWithoutExactlyOneResult: multi[0]!.n + missing[0]!.n,
    overlappingLeases: overlapping[0]!.n,
    stillLeased: leased[0]!.n,
  };
}
