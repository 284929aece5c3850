import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../server/coordinator.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { WorkClient } from '../../shared/client/workClient.ts';
import { runNoop } from '../../shared/jobs/noop.ts';
import { NoopPayload } from '../../shared/jobs/noop.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/version.ts';
import { startTestCoordinator, registerVolunteer } from '../helpers/coordinator.ts';
import { dbBackends, openTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe.each(dbBackends())('socket.io protocol on %s', (backend) => {
  let t: TestDatabase;
  let coord: Coordinator;
  let token: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await openTestDatabase(backend);
    coord = await startTestCoordinator(t.db);
    token = (await registerVolunteer(coord.url, `proto-${backend}`)).token;
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await coord?.close();
    await t?.drop();
  });

  function open(auth: Record<string, unknown>): Socket {
    const s = connect(coord.url, { auth, forceNew: true, reconnection: false, transports: ['websocket'] });
    sockets.push(s);
    return s;
  }
  const connected = (s: Socket) =>
    new Promise<{ ok: true } | { ok: false; data: unknown; message: string }>((resolve) => {
      s.once('connect', () => resolve({ ok: true }));
      s.once('connect_error', (err) => resolve({ ok: false, data: (err as Error & { data?: unknown }).data, message: err.message }));
    });
  const hello = (s: Socket, kinds = ['noop'], features: string[] = []) =>
    s.emitWithAck('hello', { sessionId: randomUUID(), kind: 'node', capabilities: { jobKinds: kinds, features, maxJobs: 4 } });

  async function clearQueue() {
    await t.db.rows(sql`update jobs set state = 'failed' where state in ('queued', 'active')`);
  }

  it('refuses an outdated client with a message telling it to update', async () => {
    const r = await connected(open({ token, protocol: PROTOCOL_VERSION - 1, clientVersion: '0.0.1' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.data).toMatchObject({ reason: 'version_too_old' });
    expect(r.message).toMatch(/update/i);
  });

  it('refuses an unknown token and a malformed handshake', async () => {
    const bad = await connected(open({ token: 'x'.repeat(43), protocol: PROTOCOL_VERSION, clientVersion: '0.1.0' }));
    expect(bad).toMatchObject({ ok: false, data: { reason: 'unauthorized' } });
    const none = await connected(open({}));
    expect(none).toMatchObject({ ok: false, data: { reason: 'bad_request' } });
  });

  it('answers invalid messages with bad_request and changes nothing', async () => {
    await clearQueue();
    await enqueueJobs(t.db, [{ kind: 'noop', payload: { seq: 1 } }]);
    const s = open({ token, protocol: PROTOCOL_VERSION, clientVersion: '0.1.0' });
    expect(await connected(s)).toEqual({ ok: true });
    // before hello
    expect(await s.emitWithAck('job:request', { max: 1 })).toMatchObject({ ok: false, reason: 'not_ready' });
    expect(await s.emitWithAck('hello', { sessionId: 'not-a-uuid', kind: 'node', capabilities: { jobKinds: ['noop'] } }))
      .toMatchObject({ ok: false, reason: 'bad_request', detail: expect.stringContaining('sessionId') });
    expect(await hello(s)).toMatchObject({ ok: true });
    expect(await s.emitWithAck('job:request', { max: 'lots' })).toMatchObject({ ok: false, reason: 'bad_request' });
    expect(await s.emitWithAck('job:complete', { leaseId: randomUUID(), result: {} })).toMatchObject({ ok: false, reason: 'lease_lost' });
    const got = await s.emitWithAck('job:request', { max: 1 });
    expect(got.ok && got.jobs).toHaveLength(1);
    const job = got.jobs[0];
    // a result that does not match the kind's schema is refused and the lease stays
    expect(await s.emitWithAck('job:complete', { leaseId: job.leaseId, result: { seq: 'one' } }))
      .toMatchObject({ ok: false, reason: 'bad_request', detail: expect.stringContaining('noop') });
    const rows = await t.db.rows<{ n: number }>(sql`select count(*)::int as n from results where job_id = ${Number(job.jobId)}`);
    expect(rows[0]!.n).toBe(0);
    const result = runNoop(NoopPayload.parse(job.payload));
    expect(await s.emitWithAck('job:complete', { leaseId: job.leaseId, result })).toEqual({ ok: true, duplicate: false });
    expect(await s.emitWithAck('job:complete', { leaseId: job.leaseId, result })).toEqual({ ok: true, duplicate: true });
  });

  it('refuses a URL result that does not answer its job: foreign, changed, duplicated or missing pairs', async () => {
    await clearQueue();
    const items = [1, 2, 3].map((id) => ({ id, url: `http://example.com/${id}.jpg`, alt: `photo ${id}`, language: 'en' }));
    await enqueueJobs(t.db, [{ kind: 'url', payload: { model: { id: 'm', hash: 'a'.repeat(64) }, items } }]);
    const sessionId = randomUUID();
    const helloAs = (sock: Socket) => sock.emitWithAck('hello', { sessionId, kind: 'node', capabilities: { jobKinds: ['url'], features: [], maxJobs: 4 } });
    const s = open({ token, protocol: PROTOCOL_VERSION, clientVersion: '0.1.0' });
    await connected(s);
    await helloAs(s);
    const got = await s.emitWithAck('job:request', { max: 1 });
    const leaseId = got.jobs[0].leaseId;
    const row = (i: { id: number; url: string; alt: string }) => ({ id: i.id, url: i.url, alt: i.alt, status: 'too-small', httpStatus: 200, bytes: 10, width: null, height: null, sha256: null, similarity: null, kept: false, embedding: null });
    const result = (rows: ReturnType<typeof row>[]) => ({ modelHash: 'a'.repeat(64), urls: rows, counts: { 'too-small': rows.length }, kept: 0 });
    const honest = items.map(row);
    for (const [lie, why] of [
      [[...honest.slice(0, 2), { ...honest[2]!, id: 99 }], /candidate 99 is not in this job/],
      [[...honest.slice(0, 2), { ...honest[2]!, alt: 'a cat, says I' }], /candidate 3 has another url or alt/],
      [[...honest.slice(0, 2), { ...honest[2]!, url: 'http://evil.example/x.jpg' }], /candidate 3 has another url or alt/],
      [[...honest, honest[0]!], /candidate 1 is reported twice/],
      [honest.slice(0, 2), /1 of the job's 3 candidates are missing/],
    ] as const) {
      expect(await s.emitWithAck('job:complete', { leaseId, result: result([...lie]) })).toMatchObject({ ok: false, reason: 'bad_request', detail: expect.stringMatching(why) });
    }
    // totals that are not the URLs' own (credit reads them)
    expect(await s.emitWithAck('job:complete', { leaseId, result: { ...result(honest), counts: { ok: 3 } } }))
      .toMatchObject({ ok: false, reason: 'bad_request', detail: expect.stringMatching(/counts\.(ok|too-small) is/) });
    expect(await s.emitWithAck('job:complete', { leaseId, result: { ...result(honest), kept: 2 } }))
      .toMatchObject({ ok: false, reason: 'bad_request', detail: expect.stringMatching(/kept is 2, the URLs say 0/) });
    expect(await s.emitWithAck('job:complete', { leaseId, result: { ...result([{ ...honest[0]!, kept: true }, ...honest.slice(1)]), kept: 1 } }))
      .toMatchObject({ ok: false, reason: 'bad_request', detail: expect.stringMatching(/candidate 1 is kept without a score/) });
    const stored = await t.db.rows<{ n: number }>(sql`select count(*)::int as n from results r join assignments a on a.id = r.assignment_id where a.lease_id = ${leaseId}`);
    expect(stored[0]!.n).toBe(0);
    // the lease is still good for the honest answer, also from a new socket (the payload comes from the database)
    s.close();
    const again = open({ token, protocol: PROTOCOL_VERSION, clientVersion: '0.1.0' });
    await connected(again);
    expect(await helloAs(again)).toMatchObject({ ok: true });
    expect(await again.emitWithAck('job:complete', { leaseId, result: result([...honest].reverse()) })).toEqual({ ok: true, duplicate: false });
  });

  it('answers an unknown event with bad_request at once, naming the events it speaks', async () => {
    const s = open({ token, protocol: PROTOCOL_VERSION, clientVersion: '0.1.0' });
    await connected(s);
    const t0 = Date.now();
    const ack = await s.timeout(5_000).emitWithAck('job:requets', { max: 1 });
    expect(ack).toMatchObject({ ok: false, reason: 'bad_request', detail: expect.stringMatching(/unknown event 'job:requets'.*job:request/) });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('only hands out jobs whose kind and features the client declared', async () => {
    await clearQueue();
    await enqueueJobs(t.db, [{ kind: 'noop', payload: { seq: 2 }, requires: ['fetch:cross-origin'] }]);
    const browser = open({ token, protocol: PROTOCOL_VERSION, clientVersion: '0.1.0' });
    await connected(browser);
    await hello(browser);
    expect(await browser.emitWithAck('job:request', { max: 4 })).toEqual({ ok: true, jobs: [] });
    const agent = open({ token, protocol: PROTOCOL_VERSION, clientVersion: '0.1.0' });
    await connected(agent);
    await hello(agent, ['noop'], ['fetch:cross-origin']);
    const got = await agent.emitWithAck('job:request', { max: 4 });
    expect(got.ok && got.jobs.map((j: { payload: unknown }) => j.payload)).toEqual([{ seq: 2 }]);
  });

  it('a WorkClient runs queued jobs to completion with the shared executor', async () => {
    await clearQueue();
    const ids = await enqueueJobs(t.db, Array.from({ length: 30 }, (_, seq) => ({ kind: 'noop', payload: { seq } })));
    const done: string[] = [];
    const client = new WorkClient({
      url: coord.url, token, kind: 'node',
      capabilities: { jobKinds: ['noop'], backends: [], features: [], maxJobs: 4 },
      executors: { noop: { run: async (job) => ({ ok: true, result: runNoop(NoopPayload.parse(job.payload)) }) } },
      idlePollMs: 200,
      socketOptions: { forceNew: true, transports: ['websocket'] },
      onEvent: (e) => {
        if (e.type === 'job:done' && e.accepted) done.push(e.job.jobId);
      },
    });
    client.start();
    const until = Date.now() + 20_000;
    while (done.length < 30 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await client.stop();
    expect(new Set(done)).toEqual(new Set(ids.map(String)));
    const rows = await t.db.rows<{ state: string; n: number }>(sql`
      select state, count(*)::int as n from jobs where id = any(${sql.raw(`array[${ids.join(',')}]`)}) group by state`);
    expect(rows).toEqual([{ state: 'completed', n: 30 }]);
  });
});
