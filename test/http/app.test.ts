// The coordinator's HTTP surface that the page and operators depend on: cross-origin isolation headers
// (the page's WASM threads need them) and the admin route that turns WAT listings into jobs, with the
// CORS flag deciding whether browsers may take them.
import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../server/coordinator.ts';
import { CROSS_ORIGIN_FEATURE } from '../../shared/jobs/url.ts';
import { CreditResponse, LeaderboardResponse, StatsResponse } from '../../shared/protocol/http.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { openSocket, registerVolunteer, startTestCoordinator } from '../helpers/coordinator.ts';
import { dbBackends, openTestDatabase, type TestDatabase } from '../helpers/db.ts';

const CACHE_MS = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(dbBackends())('coordinator HTTP on %s', (backend) => {
  let t: TestDatabase;
  let coord: Coordinator;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    t = await openTestDatabase(backend);
    // the leaderboard is cached for 30 s in production; these tests read it right after changing it
    coord = await startTestCoordinator(t.db, { config: { leaderboardCacheMs: CACHE_MS } });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await coord?.close();
    await t?.drop();
  });

  it('sends COOP same-origin and COEP credentialless on pages, static files, API answers and errors', async () => {
    for (const path of ['/', '/api/stats', '/api/no-such-route', '/healthz']) {
      const res = await fetch(`${coord.url}${path}`);
      await res.arrayBuffer();
      expect(res.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(res.headers.get('cross-origin-embedder-policy'), path).toBe('credentialless');
    }
  });

  it('registration: checks nickname and team, refuses a taken nickname whatever its case, stores only the token hash', async () => {
    const register = (body: unknown) => fetch(`${coord.url}/api/volunteers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const bad of [{ nickname: 'ab' }, { nickname: 'has space' }, { nickname: 'x'.repeat(31) }, { nickname: 'okname', team: 'no/slash' }, {}]) {
      const res = await register(bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'bad_request', detail: expect.stringMatching(/nickname|team|expected/i) });
    }
    const first = await register({ nickname: `Reg-${backend}`, team: 'crew' });
    expect(first.status).toBe(201);
    const { id, token } = (await first.json()) as { id: number; token: string };
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = await register({ nickname: `reg-${backend.toUpperCase()}` });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: 'nickname_taken' });
    const [row] = await t.db.rows<Record<string, unknown>>(sql`select * from volunteers where id = ${id}`);
    expect(row!.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(Object.values(row!).map(String)).not.toContain(token);
  });

  it('/healthz names the database; /api/stats counts jobs by kind and state', async () => {
    expect(await (await fetch(`${coord.url}/healthz`)).json()).toMatchObject({ ok: true, database: backend, coordinator: coord.deps.config.coordinatorId });
    await t.db.rows(sql`update jobs set state = 'failed' where state in ('queued', 'active')`);
    const before = StatsResponse.parse(await (await fetch(`${coord.url}/api/stats`)).json());
    await enqueueJobs(t.db, [{ kind: 'noop', payload: { seq: 1 } }, { kind: 'noop', payload: { seq: 2 } }]);
    await t.db.rows(sql`update jobs set state = 'failed' where id = (select max(id) from jobs where kind = 'noop')`);
    const after = StatsResponse.parse(await (await fetch(`${coord.url}/api/stats`)).json());
    expect(after.jobs.noop?.queued ?? 0).toBe((before.jobs.noop?.queued ?? 0) + 1);
    expect(after.jobs.noop?.failed ?? 0).toBe((before.jobs.noop?.failed ?? 0) + 1);
    expect(after.coordinator).toBe(coord.deps.config.coordinatorId);
  });

  const post = (body: unknown, token: string | null = 'test-admin-token') =>
    fetch(`${coord.url}/api/admin/wat-jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('refuses admin calls without the admin token and bad bodies with a reason', async () => {
    expect((await post({ urls: ['http://example.com/a.wat.gz'] }, null)).status).toBe(401);
    expect((await post({ urls: ['http://example.com/a.wat.gz'] }, 'test-admin-tokeX')).status).toBe(401);
    const bad = await post({ urls: ['ftp://example.com/a.wat.gz'], slices: 0 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_request', detail: expect.stringMatching(/urls|slices/) });
  });

  it('WAT jobs from a host without CORS go to agents only; with corsOk browsers may take them', async () => {
    const noCors = await post({ crawl: 'CC-MAIN-2014-35', urls: ['http://127.0.0.9/nocors.wat.gz'], slices: 2 });
    expect(noCors.status).toBe(201);
    expect(await noCors.json()).toEqual({ jobs: 2, files: 1 });
    const withCors = await post({ crawl: 'CC-MAIN-2014-35', urls: ['http://127.0.0.9/cors.wat.gz'], slices: 1, corsOk: true });
    expect(await withCors.json()).toEqual({ jobs: 1, files: 1 });
    const rows = await t.db.rows<{ url: string; requires: string[]; slice: { index: number; count: number } }>(sql`
      select payload->>'url' as url, requires, payload->'slice' as slice from jobs where kind = 'wat' order by id`);
    expect(rows).toEqual([
      { url: 'http://127.0.0.9/nocors.wat.gz', requires: [CROSS_ORIGIN_FEATURE], slice: { index: 0, count: 2 } },
      { url: 'http://127.0.0.9/nocors.wat.gz', requires: [CROSS_ORIGIN_FEATURE], slice: { index: 1, count: 2 } },
      { url: 'http://127.0.0.9/cors.wat.gz', requires: [], slice: { index: 0, count: 1 } },
    ]);

    const { token } = await registerVolunteer(coord.url, `http-${backend}`);
    const claim = async (features: string[]) => {
      const s = await openSocket(coord.url, token);
      sockets.push(s);
      await s.emitWithAck('hello', { sessionId: randomUUID(), kind: features.length ? 'node' : 'browser', capabilities: { jobKinds: ['wat'], features, maxJobs: 8 } });
      const got = await s.emitWithAck('job:request', { max: 8 });
      return (got.jobs as { payload: { url: string } }[]).map((j) => j.payload.url).sort();
    };
    expect(await claim([])).toEqual(['http://127.0.0.9/cors.wat.gz']);
    expect(await claim([CROSS_ORIGIN_FEATURE])).toEqual(['http://127.0.0.9/nocors.wat.gz', 'http://127.0.0.9/nocors.wat.gz']);
  });

  it('credit: own work is pending until verified; the leaderboard counts only verified work', async () => {
    await t.db.rows(sql`update jobs set state = 'failed' where state in ('queued', 'active')`);
    const a = await registerVolunteer(coord.url, `credit-a-${backend}`, 'teamx');
    const b = await registerVolunteer(coord.url, `credit-b-${backend}`, 'teamx');
    const payload = (n: number) => ({
      model: { id: 'm', hash: 'a'.repeat(64) },
      items: Array.from({ length: n }, (_, id) => ({ id, url: `http://example.com/${id}.jpg`, alt: `photo ${id}`, language: 'en' })),
    });
    const urlResult = (ok: number) => ({
      modelHash: 'a'.repeat(64), kept: 0, counts: { ok },
      urls: payload(ok).items.map(({ id, url, alt }) => ({ id, url, alt, status: 'ok', httpStatus: 200, bytes: 1000, width: 300, height: 200, sha256: 'b'.repeat(64), similarity: 0.31, kept: false, embedding: null })),
    });
    /** Claims every queued url job on a fresh socket and completes it with all its images scored. */
    const work = async (token: string) => {
      const s = await openSocket(coord.url, token);
      sockets.push(s);
      await s.emitWithAck('hello', { sessionId: randomUUID(), kind: 'node', capabilities: { jobKinds: ['url'], features: [CROSS_ORIGIN_FEATURE], maxJobs: 8 } });
      const got = await s.emitWithAck('job:request', { max: 8 });
      for (const j of got.jobs as { leaseId: string; payload: { items: unknown[] } }[]) {
        expect(await s.emitWithAck('job:complete', { leaseId: j.leaseId, result: urlResult(j.payload.items.length) })).toMatchObject({ ok: true });
      }
    };
    await enqueueJobs(t.db, [{ kind: 'url', payload: payload(3) }, { kind: 'url', payload: payload(3) }]);
    await work(a.token);
    await enqueueJobs(t.db, [{ kind: 'url', payload: payload(5) }]);
    await work(b.token);

    const me = async (token: string | null) => {
      const res = await fetch(`${coord.url}/api/me`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.status, body: await res.json() };
    };
    const board = async () => LeaderboardResponse.parse(await (await fetch(`${coord.url}/api/leaderboard`)).json());
    expect((await me(null)).status).toBe(401);
    expect((await me('x'.repeat(43))).status).toBe(401);
    expect(CreditResponse.parse((await me(a.token)).body)).toEqual({
      nickname: a.nickname, team: 'teamx', pending: { jobs: 2, images: 6 }, verified: { jobs: 0, images: 0 }, rejected: { jobs: 0, images: 0 },
    });
    expect(await board()).toEqual({ volunteers: [], teams: [] });

    // what the validator will do: one of A's results agrees with its replicas, the other does not
    const aRows = await t.db.rows<{ id: number }>(sql`select a.id::float8 as id from assignments a where a.volunteer_id = ${a.id} and a.state = 'completed' order by a.id`);
    await t.db.rows(sql`update assignments set validate_state = 'valid' where id = ${aRows[0]!.id} or (volunteer_id = ${b.id} and state = 'completed')`);
    await t.db.rows(sql`update assignments set validate_state = 'invalid' where id = ${aRows[1]!.id}`);
    // still waiting for replicas counts as pending; too late for the decision earns nothing
    await enqueueJobs(t.db, [{ kind: 'url', payload: payload(2) }, { kind: 'url', payload: payload(4) }]);
    await work(a.token);
    const later = await t.db.rows<{ id: number; n: number }>(sql`
      select a.id::float8 as id, jsonb_array_length(r.body->'urls')::int as n from assignments a join results r on r.assignment_id = a.id
      where a.volunteer_id = ${a.id} and a.validate_state = 'pending' order by a.id`);
    expect(later.map((l) => l.n).sort()).toEqual([2, 4]);
    await t.db.rows(sql`update assignments set validate_state = case when id = ${later.find((l) => l.n === 2)!.id} then 'inconclusive' else 'too_late' end
      where id in (${later[0]!.id}, ${later[1]!.id})`);
    expect((await me(a.token)).body).toMatchObject({ pending: { jobs: 1, images: 2 }, verified: { jobs: 1, images: 3 }, rejected: { jobs: 1, images: 3 } });
    await sleep(CACHE_MS + 50);
    expect(await board()).toEqual({
      volunteers: [{ name: b.nickname, team: 'teamx', jobs: 1, images: 5 }, { name: a.nickname, team: 'teamx', jobs: 1, images: 3 }],
      teams: [{ name: 'teamx', jobs: 2, images: 8 }],
    });
    // one answer serves every tab for a while; then the board catches up
    await t.db.rows(sql`update assignments set validate_state = 'valid' where id = ${aRows[1]!.id}`);
    expect((await board()).volunteers.find((v) => v.name === a.nickname)).toMatchObject({ images: 3 });
    await sleep(CACHE_MS + 50);
    expect((await board()).volunteers.find((v) => v.name === a.nickname)).toMatchObject({ images: 6 });
  });
});
