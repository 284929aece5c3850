// Claim+complete cycles per second through socket.io with 200 concurrent clients, on PGlite and on
// PostgreSQL (TEST_DATABASE_URL or DATABASE_URL), next to the same cycles run directly against the
// database in one process with the same concurrency (the ceiling the protocol layer can reach).
import { randomUUID } from 'node:crypto';
import { io as connect, type Socket } from 'socket.io-client';
import { claimJobs } from '../../server/db/queries/claimJobs.ts';
import { completeAssignment } from '../../server/db/queries/completeAssignment.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { registerVolunteer as registerRow } from '../../server/db/queries/registerVolunteer.ts';
import { upsertWorker } from '../../server/db/queries/upsertWorker.ts';
import type { Database } from '../../server/db/database.ts';
import { NoopPayload, runNoop } from '../../shared/jobs/noop.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/version.ts';
import { registerVolunteer, startTestCoordinator } from '../helpers/coordinator.ts';
import { dbBackends, openTestDatabase } from '../helpers/db.ts';
import type { Bench, BenchResult } from './bench.ts';

const CLIENTS = 200;

async function direct(db: Database, cycles: number): Promise<number> {
  await enqueueJobs(db, Array.from({ length: cycles }, (_, seq) => ({ kind: 'noop', payload: { seq } })));
  const workers = await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
    const reg = await registerRow(db, { nickname: `direct${i}`, team: null, tokenHash: randomUUID() });
    if (!reg.ok) throw new Error('register');
    const id = randomUUID();
    await upsertWorker(db, { id, volunteerId: reg.id, kind: 'node', capabilities: { jobKinds: ['noop'], backends: [], features: [], maxJobs: 1 },
      clientVersion: 'bench', protocolVersion: 1, address: null, userAgent: null, coordinatorId: 'bench', now: new Date() });
    return { id, volunteerId: reg.id };
  }));
  let done = 0;
  const t0 = performance.now();
  await Promise.all(workers.map(async (w) => {
    for (;;) {
      const [c] = await claimJobs(db, { workerId: w.id, volunteerId: w.volunteerId, kinds: ['noop'], features: [], max: 1, now: new Date(), leaseMs: 60_000 });
      if (!c) return;
      const result = runNoop(NoopPayload.parse(c.payload));
      await completeAssignment(db, { leaseId: c.leaseId, workerId: w.id, kind: 'noop', body: result, bodyBytes: 30, now: new Date() });
      done++;
    }
  }));
  return done / ((performance.now() - t0) / 1000);
}

async function viaSocketIo(db: Database, cycles: number): Promise<number> {
  const coord = await startTestCoordinator(db);
  const sockets: Socket[] = [];
  try {
    const token = (await registerVolunteer(coord.url, `bench${randomUUID().slice(0, 8)}`)).token;
    await enqueueJobs(db, Array.from({ length: cycles }, (_, seq) => ({ kind: 'noop', payload: { seq } })));
    for (let i = 0; i < CLIENTS; i++) {
      const s = connect(coord.url, { auth: { token, protocol: PROTOCOL_VERSION, clientVersion: 'bench' }, forceNew: true, transports: ['websocket'] });
      sockets.push(s);
    }
    await Promise.all(sockets.map((s) => new Promise((r) => (s.connected ? r(null) : s.once('connect', () => r(null))))));
    await Promise.all(sockets.map((s) => s.emitWithAck('hello', { sessionId: randomUUID(), kind: 'node', capabilities: { jobKinds: ['noop'], maxJobs: 1 } })));
    let done = 0;
    const t0 = performance.now();
    await Promise.all(sockets.map(async (s) => {
      for (;;) {
        const ack = await s.emitWithAck('job:request', { max: 1 });
        const job = ack.ok ? ack.jobs[0] : null;
        if (!job) return;
        const res = await s.emitWithAck('job:complete', { leaseId: job.leaseId, result: runNoop(NoopPayload.parse(job.payload)) });
        if (!res.ok) throw new Error(`complete refused: ${res.detail}`);
        done++;
      }
    }));
    return done / ((performance.now() - t0) / 1000);
  } finally {
    for (const s of sockets) s.close();
    await coord.close();
  }
}

const bench: Bench = {
  name: 'queue',
  async run(ctx) {
    const cycles = ctx.quick ? 1000 : 5000;
    const out: BenchResult[] = [];
    const backends = dbBackends();
    if (!backends.includes('postgres')) ctx.log('no TEST_DATABASE_URL/DATABASE_URL: PostgreSQL figures skipped (export TEST_DATABASE_URL=$(.ci/pg-start.sh))');
    for (const backend of backends) {
      ctx.log(`${backend}: direct`);
      const a = await openTestDatabase(backend, { poolSize: 20 });
      const ceiling = await direct(a.db, cycles).finally(() => a.drop());
      ctx.log(`${backend}: socket.io`);
      const b = await openTestDatabase(backend, { poolSize: 20 });
      const rate = await viaSocketIo(b.db, cycles).finally(() => b.drop());
      ctx.log(`${backend}: socket.io ${rate.toFixed(0)}/s, direct ${ceiling.toFixed(0)}/s`);
      out.push({ name: `queue.claim_complete.socketio_${CLIENTS}_clients.${backend}`, value: rate, unit: 'cycles/s', baseline: ceiling,
        note: `${cycles} jobs; baseline: the same claim+complete queries called in-process with ${CLIENTS} concurrent loops` });
    }
    return out;
  },
};
export default bench;
