import { sql } from 'drizzle-orm';
import { CROSS_ORIGIN_FEATURE, type UrlPayload } from '../../../shared/jobs/url.ts';
import type { Database } from '../database.ts';
import { enqueueJobs } from './enqueueJobs.ts';

export interface PackOptions {
  /** Candidates per URL job. */
  jobSize: number;
  /** At most this many candidates of one host in one job, so no site is hit by a whole job at once. */
  hostCap: number;
  /** Also emit jobs smaller than jobSize (end of a crawl). */
  flush: boolean;
  model: UrlPayload['model'];
  /** Candidates looked at per pass. */
  window: number;
  maxFailures: number;
  now?: Date;
}

interface Row {
  id: number;
  url: string;
  alt: string;
  language: string;
  host: string;
  cross: boolean;
}

/**
 * Greedy packing of rows already interleaved by host (first of each host, then second, ...): a row goes into
 * the first open job that has room and fewer than `hostCap` of its host. Pure, for tests.
 */
export function packRows<T extends { host: string }>(rows: readonly T[], jobSize: number, hostCap: number, flush: boolean): T[][] {
  const open: { items: T[]; hosts: Map<string, number> }[] = [];
  const full: T[][] = [];
  for (const row of rows) {
    let job = open.find((j) => (j.hosts.get(row.host) ?? 0) < hostCap);
    if (!job) {
      job = { items: [], hosts: new Map() };
      open.push(job);
    }
    job.items.push(row);
    job.hosts.set(row.host, (job.hosts.get(row.host) ?? 0) + 1);
    if (job.items.length >= jobSize) {
      full.push(job.items);
      open.splice(open.indexOf(job), 1);
    }
  }
  if (flush) for (const j of open) if (j.items.length) full.push(j.items);
  return full;
}

/**
 * Turns waiting candidates into URL jobs: candidates a browser could not read go into jobs that require
 * `fetch:cross-origin`. Runs in one transaction; the candidates are locked with skip locked, so two
 * coordinators never pack the same one. Returns the number of jobs and candidates packed.
 */
export async function packCandidates(db: Database, o: PackOptions): Promise<{ jobs: number; candidates: number }> {
  return db.transaction(async (tx) => {
    const rows = await tx.rows<Row>(sql`
      with w as (
        select id from candidates where state = 'new' order by id limit ${o.window} for update skip locked
      )
      select c.id::float8 as id, c.url, c.alt, c.language, c.host, c.needs_cross_origin as cross
      from candidates c join w on w.id = c.id
      order by c.needs_cross_origin, row_number() over (partition by c.needs_cross_origin, c.host order by c.id), md5(c.host)`);
    let jobs = 0;
    let packed = 0;
    for (const cross of [false, true]) {
      const groups = packRows(rows.filter((r) => r.cross === cross), o.jobSize, o.hostCap, o.flush);
      if (groups.length === 0) continue;
      const ids = await enqueueJobs(tx as Database, groups.map((g) => ({
        kind: 'url',
        payload: { model: o.model, items: g.map((r) => ({ id: r.id, url: r.url, alt: r.alt, language: r.language })) } satisfies UrlPayload,
        requires: cross ? [CROSS_ORIGIN_FEATURE] : [],
        maxFailures: o.maxFailures,
      })), o.now);
      const assign = groups.flatMap((g, i) => g.map((r) => ({ c: r.id, j: ids[i]! })));
      await tx.rows(sql`
        update candidates c set state = 'packed', url_job_id = v.j
        from jsonb_to_recordset(${JSON.stringify(assign)}::jsonb) as v(c bigint, j bigint) where c.id = v.c`);
      jobs += groups.length;
      packed += assign.length;
    }
    return { jobs, candidates: packed };
  });
}
