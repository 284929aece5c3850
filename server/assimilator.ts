// The assimilator moves finished jobs' results into the dataset tables: a WAT job's candidates into
// `candidates` (deduplicated across the crawl), a URL job's per-image outcomes onto its candidates. One job
// per transaction, picked with skip locked, so several coordinators can run it side by side.
// Until the verification issue lands, the result used is the job's first one; the validator will choose
// the canonical result and mark jobs ready for assimilation instead.
import { sql } from 'drizzle-orm';
import { UrlResult } from '../shared/jobs/url.ts';
import { WatResult } from '../shared/jobs/wat.ts';
import { applyUrlResults } from './db/queries/applyUrlResults.ts';
import { insertCandidates } from './db/queries/insertCandidates.ts';
import type { Deps } from './deps.ts';
import { at } from './db/sqlHelpers.ts';

export interface AssimilatorSummary {
  jobs: number;
  candidatesNew: number;
  candidatesDuplicate: number;
  scored: number;
  rerouted: number;
  malformed: number;
}

export async function runAssimilatorOnce(deps: Pick<Deps, 'db' | 'clock' | 'log'>, maxJobs = 100): Promise<AssimilatorSummary> {
  const s: AssimilatorSummary = { jobs: 0, candidatesNew: 0, candidatesDuplicate: 0, scored: 0, rerouted: 0, malformed: 0 };
  for (let n = 0; n < maxJobs; n++) {
    const did = await deps.db.transaction(async (tx) => {
      const [job] = await tx.rows<{ id: number; kind: string; crawl: string | null }>(sql`
        select id::float8 as id, kind, payload->>'crawl' as crawl from jobs
        where state = 'completed' and assimilated_at is null and kind in ('wat', 'url')
        order by id limit 1 for update skip locked`);
      if (!job) return false;
      const [res] = await tx.rows<{ body: unknown }>(sql`select body from results where job_id = ${job.id} order by id limit 1`);
      if (job.kind === 'wat') {
        const parsed = WatResult.safeParse(res?.body);
        if (parsed.success) {
          const added = await insertCandidates(tx, parsed.data.candidates, { crawl: job.crawl, watJobId: job.id });
          s.candidatesNew += added;
          s.candidatesDuplicate += parsed.data.candidates.length - added;
        } else s.malformed++;
      } else {
        const parsed = UrlResult.safeParse(res?.body);
        if (parsed.success) {
          const r = await applyUrlResults(tx, { urlJobId: job.id, modelHash: parsed.data.modelHash, items: parsed.data.urls, now: deps.clock.now() });
          s.scored += r.scored;
          s.rerouted += r.rerouted;
        } else s.malformed++;
      }
      await tx.rows(sql`update jobs set assimilated_at = ${at(deps.clock.now())} where id = ${job.id}`);
      return true;
    });
    if (!did) break;
    s.jobs++;
  }
  if (s.malformed) deps.log.warn('assimilator skipped malformed results', { count: s.malformed });
  return s;
}
