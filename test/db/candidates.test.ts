import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.ts';
import { applyUrlResults } from '../../server/db/queries/applyUrlResults.ts';
import { insertCandidates } from '../../server/db/queries/insertCandidates.ts';
import { packCandidates, packRows } from '../../server/db/queries/packCandidates.ts';
import type { UrlItemResult } from '../../shared/jobs/url.ts';
import { dbBackends, openTestDatabase, type TestDatabase } from '../helpers/db.ts';

const MODEL = { id: 'synth-tiny', hash: 'a'.repeat(64) };

describe('packRows', () => {
  it('never puts more than hostCap of one host in a job and fills jobs to jobSize', () => {
    const rows = [...'aaaaaabbbcd'].map((host, i) => ({ host, i }));
    const jobs = packRows(rows, 4, 2, true);
    for (const j of jobs) {
      expect(j.length).toBeLessThanOrEqual(4);
      for (const h of 'abcd') expect(j.filter((r) => r.host === h).length).toBeLessThanOrEqual(2);
    }
    expect(jobs.flat().map((r) => r.i).sort((x, y) => x - y)).toEqual(rows.map((r) => r.i));
  });
  it('keeps partial jobs back unless flushing', () => {
    const rows = [...'abcdefg'].map((host) => ({ host }));
    expect(packRows(rows, 4, 1, false).map((j) => j.length)).toEqual([4]);
    expect(packRows(rows, 4, 1, true).map((j) => j.length)).toEqual([4, 3]);
  });
});

describe.each(dbBackends())('candidates on %s', (backend) => {
  let t: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    t = await openTestDatabase(backend);
    db = t.db;
  });
  afterAll(async () => t?.drop());

  it('dedups pairs across the crawl on (url, alt), not on url alone', async () => {
    const c = (url: string, alt: string) => ({ url, alt, pageUrl: 'http://p/', language: 'en', languageScore: 0.9 });
    expect(await insertCandidates(db, [c('http://a.example/1.jpg', 'one cat'), c('http://a.example/1.jpg', 'two cats')], { crawl: 'CC-MAIN-2024-22', watJobId: 1 })).toBe(2);
    expect(await insertCandidates(db, [c('http://a.example/1.jpg', 'one cat'), c('http://b.example/2.jpg', 'a dog')], { crawl: 'CC-MAIN-2024-22', watJobId: 2 })).toBe(1);
    const rows = await db.rows<{ host: string; n: number }>(sql`select host, count(*)::int as n from candidates group by host order by host`);
    expect(rows).toEqual([{ host: 'a.example', n: 2 }, { host: 'b.example', n: 1 }]);
  });

  it('sends what a browser could not read (cors) back to the packer, for agents only', async () => {
    const packed = await packCandidates(db, { jobSize: 10, hostCap: 5, flush: true, model: MODEL, window: 1000, maxFailures: 5 });
    expect(packed).toEqual({ jobs: 1, candidates: 3 });
    const [job] = await db.rows<{ id: number; requires: string[]; payload: { items: { id: number; url: string }[] } }>(sql`
      select id::float8 as id, requires, payload from jobs where kind = 'url'`);
    expect(job!.requires).toEqual([]);
    const items = job!.payload.items;
    const result = (id: number, status: string, similarity: number | null): UrlItemResult => ({
      id, url: items.find((i) => i.id === id)!.url, alt: 'x', status, httpStatus: status === 'ok' ? 200 : null, bytes: 0, width: null, height: null, sha256: null, similarity, kept: false, embedding: null,
    });
    const r = await applyUrlResults(db, {
      urlJobId: job!.id, modelHash: MODEL.hash, now: new Date(),
      items: [result(items[0]!.id, 'cors', null), result(items[1]!.id, 'ok', 0.31), result(items[2]!.id, 'too-small', null)],
    });
    expect(r).toEqual({ scored: 2, rerouted: 1 });
    // a result for a candidate of another job changes nothing
    expect(await applyUrlResults(db, { urlJobId: job!.id + 999, modelHash: MODEL.hash, now: new Date(), items: [result(items[1]!.id, 'timeout', null)] }))
      .toEqual({ scored: 0, rerouted: 0 });
    expect(await packCandidates(db, { jobSize: 10, hostCap: 5, flush: true, model: MODEL, window: 1000, maxFailures: 5 })).toEqual({ jobs: 1, candidates: 1 });
    const second = await db.rows<{ requires: string[]; payload: { items: { id: number }[] } }>(sql`
      select requires, payload from jobs where kind = 'url' and id <> ${job!.id}`);
    expect(second).toEqual([{ requires: ['fetch:cross-origin'], payload: expect.objectContaining({ items: [expect.objectContaining({ id: items[0]!.id })] }) }]);
  });
});
