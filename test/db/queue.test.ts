import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.ts';
import { claimJobs, claimJobsSql } from '../../server/db/queries/claimJobs.ts';
import { completeAssignment } from '../../server/db/queries/completeAssignment.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { failAssignment } from '../../server/db/queries/failAssignment.ts';
import { heartbeatLease } from '../../server/db/queries/heartbeatLease.ts';
import { registerVolunteer } from '../../server/db/queries/registerVolunteer.ts';
import { releaseLeases } from '../../server/db/queries/releaseLeases.ts';
import { upsertWorker } from '../../server/db/queries/upsertWorker.ts';
import { runTransitionerOnce } from '../../server/transitioner.ts';
import { FakeClock } from '../helpers/clock.ts';
import { dbBackends, openTestDatabase, type TestDatabase } from '../helpers/db.ts';

const LEASE_MS = 60_000;

describe.each(dbBackends())('job queue on %s', (backend) => {
  let t: TestDatabase;
  let db: Database;
  const clock = new FakeClock();
  let n = 0;

  beforeAll(async () => {
    t = await openTestDatabase(backend);
    db = t.db;
  });
  afterAll(async () => t?.drop());

  /** A fresh volunteer with one worker session; `features` as in its hello. */
  async function worker(features: string[] = [], kinds = ['noop', 'wat']) {
    const reg = await registerVolunteer(db, { nickname: `vol${++n}`, team: null, tokenHash: randomUUID() });
    if (!reg.ok) throw new Error('register failed');
    const id = randomUUID();
    await upsertWorker(db, {
      id, volunteerId: reg.id, kind: 'node', capabilities: { jobKinds: kinds, backends: [], features, maxJobs: 8 },
      clientVersion: 't', protocolVersion: 1, address: null, userAgent: null, coordinatorId: 'test', now: clock.now(),
    });
    return {
      id, volunteerId: reg.id,
      claim: (max = 1, k = kinds) => claimJobs(db, { workerId: id, volunteerId: reg.id, kinds: k, features, max, now: clock.now(), leaseMs: LEASE_MS }),
    };
  }

  async function job(id: number) {
    const rows = await db.rows<{ state: string; attempts: number; failures: number; leased: number; completed: number; errors: { reason: string }[] }>(
      sql`select state, attempts, failures, leased, completed, errors from jobs where id = ${id}`);
    return rows[0]!;
  }

  /** Leaves only the given jobs queued, so each test claims what it created. */
  async function only(...specs: Parameters<typeof enqueueJobs>[1]) {
    await db.rows(sql`update assignments set state = 'released' where state = 'leased'`);
    await db.rows(sql`update jobs set state = 'failed', leased = 0 where state in ('queued', 'active')`);
    return enqueueJobs(db, specs, clock.now());
  }

  it('leases a job once; a second claim gets another job or nothing', async () => {
    const [a, b] = await only({ kind: 'noop', payload: { seq: 1 } }, { kind: 'noop', payload: { seq: 2 } });
    const w1 = await worker();
    const w2 = await worker();
    const c1 = await w1.claim();
    const c2 = await w2.claim();
    const c3 = await w2.claim();
    expect(c1).toHaveLength(1);
    expect(c2).toHaveLength(1);
    expect(c3).toHaveLength(0);
    expect(new Set([c1[0]!.jobId, c2[0]!.jobId])).toEqual(new Set([String(a), String(b)]));
    expect(c1[0]!.leaseDeadlineMs).toBe(clock.now().getTime() + LEASE_MS);
    expect((await job(a!)).state).toBe('active');
    expect((await job(a!)).attempts).toBe(1);
  });

  it('hands jobs out in shuffled, not insertion, order', async () => {
    const ids = await only(...Array.from({ length: 40 }, (_, seq) => ({ kind: 'noop', payload: { seq } })));
    const w = await worker();
    const got = (await w.claim(40)).map((c) => Number(c.jobId));
    expect(got).toHaveLength(40);
    expect(new Set(got)).toEqual(new Set(ids));
    expect(got).not.toEqual([...got].sort((x, y) => x - y));
  });

  it('a heartbeat extends the lease; a missed one lets the transitioner re-queue the job', async () => {
    const [id] = await only({ kind: 'noop', payload: { seq: 1 } });
    const w = await worker();
    const [c] = await w.claim();
    clock.advance(40_000);
    const hb = await heartbeatLease(db, { leaseId: c!.leaseId, workerId: w.id, now: clock.now(), leaseMs: LEASE_MS, progress: { done: 3, total: 10 } });
    expect(hb?.leaseDeadlineMs).toBe(clock.now().getTime() + LEASE_MS);
    clock.advance(40_000); // past the first deadline, not the extended one
    expect((await runTransitionerOnce({ db, clock })).expired).toBe(0);
    clock.advance(30_000);
    expect((await runTransitionerOnce({ db, clock })).expired).toBe(1);
    const j = await job(id!);
    expect(j).toMatchObject({ state: 'queued', failures: 1, leased: 0 });
    expect(j.errors.at(-1)?.reason).toBe('heartbeat_missed');
    // the lease is gone: heartbeat and completion are refused
    expect(await heartbeatLease(db, { leaseId: c!.leaseId, workerId: w.id, now: clock.now(), leaseMs: LEASE_MS })).toBeNull();
    expect(await completeAssignment(db, { leaseId: c!.leaseId, workerId: w.id, kind: 'noop', body: {}, bodyBytes: 2, now: clock.now() }))
      .toEqual({ ok: false, reason: 'lease_lost' });
    // after the backoff the job is offered again, as a new attempt
    expect(await w.claim()).toHaveLength(0);
    clock.advance(5 * 60_000);
    const again = await w.claim();
    expect(again.map((x) => x.jobId)).toEqual([String(id)]);
    expect((await job(id!)).attempts).toBe(2);
  });

  it('parks a job as failed with its reasons after max_failures, instead of retrying forever', async () => {
    const [id] = await only({ kind: 'noop', payload: { seq: 9 }, maxFailures: 3 });
    const w = await worker();
    for (let i = 0; i < 3; i++) {
      clock.advance(10 * 60_000);
      const [c] = await w.claim();
      expect(c, `attempt ${i + 1}`).toBeDefined();
      if (i === 1) {
        const f = await failAssignment(db, { leaseId: c!.leaseId, workerId: w.id, reason: 'decode_error', detail: 'bad gzip', transient: false, now: clock.now() });
        expect(f?.jobState).toBe('queued');
      } else {
        clock.advance(LEASE_MS + 1);
        await runTransitionerOnce({ db, clock });
      }
    }
    const j = await job(id!);
    expect(j).toMatchObject({ state: 'failed', failures: 3, attempts: 3, leased: 0 });
    expect(j.errors.map((e) => e.reason)).toEqual(['lease_expired', 'decode_error', 'lease_expired']);
    clock.advance(60 * 60_000);
    expect(await w.claim()).toHaveLength(0);
  });

  it('completion is idempotent: the same upload twice is stored and counted once', async () => {
    const [id] = await only({ kind: 'noop', payload: { seq: 5 } });
    const w = await worker();
    const [c] = await w.claim();
    const args = { leaseId: c!.leaseId, workerId: w.id, kind: 'noop', body: { seq: 5, digest: 'abcdef01' }, bodyBytes: 30, now: clock.now() };
    expect(await completeAssignment(db, args)).toMatchObject({ ok: true, duplicate: false, jobState: 'completed' });
    expect(await completeAssignment(db, args)).toMatchObject({ ok: true, duplicate: true });
    const r = await db.rows<{ n: number }>(sql`select count(*)::int as n from results where job_id = ${id}`);
    expect(r[0]!.n).toBe(1);
    expect(await job(id!)).toMatchObject({ state: 'completed', completed: 1, leased: 0 });
    // another worker cannot complete (or even see) a lease that is not its own
    const other = await worker();
    expect(await completeAssignment(db, { ...args, workerId: other.id })).toEqual({ ok: false, reason: 'lease_lost' });
  });

  it('matches capabilities: kinds and required features', async () => {
    const [wat, needsCors] = await only(
      { kind: 'wat', payload: {} },
      { kind: 'noop', payload: { seq: 1 }, requires: ['fetch:cross-origin'] },
    );
    const browser = await worker([], ['noop']);
    expect(await browser.claim(5)).toHaveLength(0); // neither the wat kind nor the feature
    const agent = await worker(['fetch:cross-origin'], ['noop']);
    expect((await agent.claim(5)).map((c) => c.jobId)).toEqual([String(needsCors)]);
    const watWorker = await worker([], ['wat']);
    expect((await watWorker.claim(5)).map((c) => c.jobId)).toEqual([String(wat)]);
  });

  it('gives replicas of one job to different volunteers, never twice to the same one', async () => {
    const [id] = await only({ kind: 'noop', payload: { seq: 7 }, replicas: 2 });
    const w1 = await worker();
    expect(await w1.claim()).toHaveLength(1);
    expect(await w1.claim()).toHaveLength(0);
    expect((await job(id!)).state).toBe('queued');
    const w2 = await worker();
    const [c2] = await w2.claim();
    expect(c2?.jobId).toBe(String(id));
    expect(await job(id!)).toMatchObject({ state: 'active', leased: 2, attempts: 2 });
  });

  it('a released lease goes back at once without counting a failure', async () => {
    const [id] = await only({ kind: 'noop', payload: { seq: 8 } });
    const w = await worker();
    const [c] = await w.claim();
    expect(await releaseLeases(db, { workerId: w.id, leaseId: c!.leaseId, now: clock.now() })).toBe(1);
    expect(await job(id!)).toMatchObject({ state: 'queued', failures: 0, leased: 0 });
    expect((await w.claim()).map((x) => x.jobId)).toEqual([String(id)]);
  });

  it('a claim whose time was read before a release committed does not start a lease overlapping it', async () => {
    // What a busy coordinator does: clock.now() is read, the statement then waits for a connection while
    // another socket's release commits a few milliseconds "later".
    const [id] = await only({ kind: 'noop', payload: { seq: 9 } });
    const [w, other] = [await worker(), await worker()];
    const [c] = await w.claim();
    const stale = clock.now();
    clock.advance(20);
    expect(await releaseLeases(db, { workerId: w.id, leaseId: c!.leaseId, now: clock.now() })).toBe(1);
    const early = await claimJobs(db, { workerId: other.id, volunteerId: other.volunteerId, kinds: ['noop'], features: [], max: 1, now: stale, leaseMs: LEASE_MS });
    expect(early).toEqual([]);
    const [again] = await other.claim();
    expect(again?.jobId).toBe(String(id));
    const spans = await db.rows<{ overlap: boolean }>(sql`
      select b.leased_at < a.ended_at as overlap from assignments a join assignments b on a.job_id = b.job_id and a.id < b.id
      where a.job_id = ${id}`);
    expect(spans).toEqual([{ overlap: false }]);
  });

  it('claims walk the jobs_claim index instead of sorting the queue, however long it is', async () => {
    await only(...Array.from({ length: 5000 }, (_, seq) => ({ kind: 'noop', payload: { seq } })));
    const w = await worker();
    const plan = (await db.rows<{ 'QUERY PLAN': string }>(sql`explain ${claimJobsSql({
      workerId: w.id, volunteerId: w.volunteerId, kinds: ['noop'], features: [], max: 4, now: clock.now(), leaseMs: LEASE_MS,
    })}`)).map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index Scan using jobs_claim on jobs/);
    expect(plan).not.toMatch(/Sort Key: j\.priority/);
    expect(plan).not.toMatch(/Seq Scan on jobs/);
  });

  it('the state vocabularies in shared/ match the CHECK constraints', async () => {
    const { JOB_STATES, ASSIGNMENT_STATES } = await import('../../shared/states.ts');
    const rows = await db.rows<{ def: string; name: string }>(sql`
      select conname as name, pg_get_constraintdef(oid) as def from pg_constraint where conname in ('jobs_state_check', 'assignments_state_check')`);
    const jobsDef = rows.find((r) => r.name === 'jobs_state_check')!.def;
    const asgDef = rows.find((r) => r.name === 'assignments_state_check')!.def;
    for (const s of JOB_STATES) expect(jobsDef).toContain(`'${s}'`);
    for (const s of ASSIGNMENT_STATES) expect(asgDef).toContain(`'${s}'`);
    expect(jobsDef.match(/'[a-z_]+'/g)).toHaveLength(JOB_STATES.length);
  });
});
