// A job's life over real sockets with the shared WorkClient: heartbeats keep a lease alive past its length,
// a failing executor's reason reaches the job, and a result too big for one message fails the job instead
// of looping on reconnects.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../server/coordinator.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { runTransitionerOnce } from '../../server/transitioner.ts';
import type { JobExecutor } from '../../shared/client/executor.ts';
import { WorkClient, type WorkClientEvent } from '../../shared/client/workClient.ts';
import { NoopPayload, runNoop } from '../../shared/jobs/noop.ts';
import { registerVolunteer, startTestCoordinator } from '../helpers/coordinator.ts';
import { dbBackends, openTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/wait.ts';

const LEASE_MS = 1_000;

describe.each(dbBackends())('job lifecycle over socket.io on %s', (backend) => {
  let t: TestDatabase;
  let coord: Coordinator;
  let token: string;
  beforeAll(async () => {
    t = await openTestDatabase(backend);
    coord = await startTestCoordinator(t.db, { config: { leaseMs: LEASE_MS, heartbeatMs: 200 } });
    token = (await registerVolunteer(coord.url, `life-${backend}`)).token;
  });
  afterAll(async () => {
    await coord?.close();
    await t?.drop();
  });

  async function runOne(executor: JobExecutor, payload: unknown, opts: { maxMessageBytes?: number } = {}) {
    await t.db.rows(sql`update jobs set state = 'failed' where state in ('queued', 'active')`);
    const [id] = await enqueueJobs(t.db, [{ kind: 'noop', payload, maxFailures: 1 }]);
    const events: WorkClientEvent[] = [];
    const client = new WorkClient({
      url: coord.url, token, kind: 'node',
      capabilities: { jobKinds: ['noop'], backends: [], features: [], maxJobs: 1 },
      executors: { noop: executor }, idlePollMs: 100, socketOptions: { forceNew: true, transports: ['websocket'] },
      ...opts,
      onEvent: (e) => events.push(e),
    });
    client.start();
    // the transitioner runs all along, as in a coordinator: a lease not renewed in time expires
    const transitioner = setInterval(() => void runTransitionerOnce(coord.deps).catch(() => {}), 100);
    try {
      await until(`job ${id} done`, () => events.some((e) => e.type === 'job:done' || e.type === 'job:lost'), 30_000);
    } finally {
      clearInterval(transitioner);
      await client.stop();
    }
    const assignments = await t.db.rows<{ state: string; fail_reason: string | null; fail_detail: string | null; held_ms: number }>(sql`
      select state, fail_reason, fail_detail, (extract(epoch from ended_at - leased_at) * 1000)::float8 as held_ms
      from assignments where job_id = ${id} order by id`);
    const [job] = await t.db.rows<{ state: string }>(sql`select state from jobs where id = ${id}`);
    return { events, assignments, job: job! };
  }

  const noop: JobExecutor = {
    async run(job, ctx) {
      const p = NoopPayload.parse(job.payload);
      await new Promise((r) => setTimeout(r, p.workMs));
      ctx.progress({ done: 1, total: 1, unit: 'step' });
      return { ok: true, result: runNoop(p) };
    },
  };

  it('heartbeats keep a lease alive for a job three times longer than the lease', async () => {
    const r = await runOne(noop, { seq: 1, workMs: LEASE_MS * 3 });
    expect(r.events.filter((e) => e.type === 'job:lost')).toEqual([]);
    expect(r.events.find((e) => e.type === 'job:done')).toMatchObject({ accepted: true, outcome: { ok: true } });
    expect(r.assignments).toHaveLength(1);
    expect(r.assignments[0]).toMatchObject({ state: 'completed' });
    expect(r.assignments[0]!.held_ms).toBeGreaterThan(LEASE_MS * 2.5);
    expect(r.job.state).toBe('completed');
  });

  it("a failing executor's reason and detail reach the job (job:fail)", async () => {
    const failing: JobExecutor = { run: async () => ({ ok: false, reason: 'network_error', detail: 'ECONNRESET from the WAT host', transient: true }) };
    const r = await runOne(failing, { seq: 2 });
    expect(r.events.find((e) => e.type === 'job:done')).toMatchObject({ accepted: true, outcome: { ok: false, reason: 'network_error' } });
    expect(r.assignments).toEqual([{ state: 'failed', fail_reason: 'network_error', fail_detail: 'ECONNRESET from the WAT host', held_ms: expect.any(Number) }]);
    expect(r.job.state).toBe('failed'); // maxFailures 1
  });

  it('a result over the message limit fails the job with a reason instead of being retried forever', async () => {
    const huge: JobExecutor = { run: async (job) => ({ ok: true, result: { ...runNoop(NoopPayload.parse(job.payload)), pad: 'x'.repeat(300_000) } }) };
    const r = await runOne(huge, { seq: 3 }, { maxMessageBytes: 256 * 1024 });
    expect(r.assignments).toMatchObject([{ state: 'failed', fail_reason: 'result_too_large' }]);
    expect(r.assignments[0]!.fail_detail).toMatch(/MiB.*smaller slices/);
    expect(r.events.filter((e) => e.type === 'state' && e.state === 'connecting')).toHaveLength(1); // never dropped
  });
});

describe('a WorkClient checks what the coordinator answers', () => {
  it('a malformed hello answer or job list is not acted on, and says so', async () => {
    const { createServer } = await import('node:http');
    const { Server } = await import('socket.io');
    const http = createServer();
    const io = new Server(http);
    let requests = 0;
    let hellos = 0;
    io.on('connection', (s) => {
      // a coordinator with a bug (or a hostile one): hello without heartbeatMs, then jobs without lease ids
      s.on('hello', (m: { sessionId: string }, ack: (a: unknown) => void) => ack(hellos++ === 0 ? { ok: true, workerId: m.sessionId } : {
        ok: true, workerId: m.sessionId, volunteer: { id: 1, nickname: 'nick', team: null }, heartbeatMs: 1000, leaseMs: 5000, leases: [],
      }));
      s.on('job:request', (_m: unknown, ack: (a: unknown) => void) => {
        requests++;
        ack({ ok: true, jobs: [{ jobId: '1', kind: 'noop', payload: { seq: 1 } }] });
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    const warnings: string[] = [];
    let ran = 0;
    const client = new WorkClient({
      url, token: 't', kind: 'node', capabilities: { jobKinds: ['noop'], backends: [], features: [], maxJobs: 1 },
      executors: { noop: { run: async () => (ran++, { ok: true, result: { seq: 1 } }) } },
      idlePollMs: 100, ackTimeoutMs: 2_000, socketOptions: { forceNew: true, transports: ['websocket'], reconnectionDelay: 100 },
      onEvent: (e) => e.type === 'warning' && warnings.push(e.message),
    });
    try {
      client.start();
      await until('a warning about hello', () => warnings.some((w) => w.includes('answered hello')), 10_000);
      expect(client.currentState).not.toBe('ready');
      // reconnect so that the second hello is well-formed; the job list that follows is not
      (client as unknown as { socket: { disconnect(): void; connect(): void } }).socket.disconnect();
      (client as unknown as { socket: { connect(): void } }).socket.connect();
      await until('a warning about job:request', () => warnings.some((w) => w.includes('answered job:request')), 10_000);
      expect(warnings.find((w) => w.includes('job:request'))).toMatch(/leaseId/);
      expect(ran).toBe(0);
      expect(requests).toBeGreaterThan(0);
    } finally {
      await client.stop();
      io.close();
    }
  });
});
