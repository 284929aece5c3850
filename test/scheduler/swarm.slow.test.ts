// The coordinator under a crowd: 50 real socket.io clients complete 2,000 jobs; then the same with the
// coordinator process killed (SIGKILL) halfway and started again on the same port and database.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { registerVolunteer, startTestCoordinator } from '../helpers/coordinator.ts';
import { createPostgresDatabase, dbBackends, openTestDatabase } from '../helpers/db.ts';
import { freePort } from '../helpers/net.ts';
import { auditQueue, startSwarm } from '../helpers/swarm.ts';

const JOBS = 2000;
const CLIENTS = 50;
const CLI = join(import.meta.dirname, '../../server/cli/crawlswarm.mjs');

describe.each(dbBackends())('swarm on %s', (backend) => {
  it(`${CLIENTS} clients complete ${JOBS} jobs exactly once`, async () => {
    const t = await openTestDatabase(backend, { poolSize: 20 });
    const coord = await startTestCoordinator(t.db, { background: true, config: { transitionerIntervalMs: 1000 } });
    try {
      const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => registerVolunteer(coord.url, `swarm${i}`).then((r) => r.token)));
      await enqueueJobs(t.db, Array.from({ length: JOBS }, (_, seq) => ({ kind: 'noop', payload: { seq } })));
      const swarm = startSwarm(coord.url, tokens, CLIENTS);
      const t0 = Date.now();
      const done = await swarm.waitFor(JOBS, 240_000);
      await swarm.stop();
      console.log(`${backend}: ${done} jobs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect(done).toBe(JOBS);
      expect(swarm.overlaps).toEqual([]);
      expect([...swarm.accepted.values()].every((n) => n === 1)).toBe(true);
      expect(await auditQueue(t.db)).toEqual({ states: { completed: JOBS }, jobsWithoutExactlyOneResult: 0, overlappingLeases: 0, stillLeased: 0 });
    } finally {
      await coord.close();
      await t.drop();
    }
  });

  it.runIf(backend === 'postgres')(`two coordinators on one PostgreSQL share ${JOBS} jobs without handing one out twice`, async () => {
    const t = await openTestDatabase(backend, { poolSize: 10 });
    const a = await startTestCoordinator(t.db, { background: true, config: { transitionerIntervalMs: 1000 } });
    const b = await startTestCoordinator(t.db, { background: true, config: { transitionerIntervalMs: 1000 } });
    try {
      const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => registerVolunteer(a.url, `duo${i}`).then((r) => r.token)));
      await enqueueJobs(t.db, Array.from({ length: JOBS }, (_, seq) => ({ kind: 'noop', payload: { seq } })));
      const sa = startSwarm(a.url, tokens, CLIENTS / 2);
      const sb = startSwarm(b.url, tokens, CLIENTS / 2);
      const until = Date.now() + 240_000;
      while (sa.accepted.size + sb.accepted.size < JOBS && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      await Promise.all([sa.stop(), sb.stop()]);
      expect(sa.accepted.size).toBeGreaterThan(0);
      expect(sb.accepted.size).toBeGreaterThan(0);
      expect(new Set([...sa.accepted.keys(), ...sb.accepted.keys()]).size).toBe(JOBS);
      expect([...sa.accepted.keys()].filter((k) => sb.accepted.has(k))).toEqual([]);
      expect(await auditQueue(t.db)).toEqual({ states: { completed: JOBS }, jobsWithoutExactlyOneResult: 0, overlappingLeases: 0, stillLeased: 0 });
    } finally {
      await a.close();
      await b.close();
      await t.drop();
    }
  });

  describe('coordinator killed mid-run', () => {
    const dirs: string[] = [];
    const children: ChildProcess[] = [];
    afterAll(() => {
      for (const c of children) c.kill('SIGKILL');
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    function serve(port: number, dataDir: string, databaseUrl: string | null): Promise<ChildProcess> {
      const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', LEASE_SECONDS: '30', HEARTBEAT_SECONDS: '5' };
      delete env.DATABASE_URL;
      if (databaseUrl) env.DATABASE_URL = databaseUrl;
      const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      return new Promise((resolve, reject) => {
        child.stdout!.on('data', (d) => String(d).includes('coordinator on') && resolve(child));
        child.once('exit', (code) => reject(new Error(`coordinator exited with ${code}: ${err}`)));
      });
    }

    it(`SIGKILL halfway through ${JOBS} jobs: clients reconnect and every job is still done exactly once`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'cs-crash-'));
      dirs.push(dataDir);
      const pg = backend === 'postgres' ? await createPostgresDatabase() : null;
      const target = pg ? { url: pg.url } : { dataDir: join(dataDir, 'pglite') };
      // jobs go in before the coordinator starts: PGlite allows one process at a time
      const seed = await openDatabase(target);
      await enqueueJobs(seed, Array.from({ length: JOBS }, (_, seq) => ({ kind: 'noop', payload: { seq } })));
      await seed.close();

      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      let child = await serve(port, dataDir, pg?.url ?? null);
      const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => registerVolunteer(url, `crash${i}`).then((r) => r.token)));
      const swarm = startSwarm(url, tokens, CLIENTS);
      await swarm.waitFor(JOBS / 2, 120_000);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const atKill = swarm.accepted.size;
      await new Promise((r) => setTimeout(r, 1500));
      child = await serve(port, dataDir, pg?.url ?? null);
      const done = await swarm.waitFor(JOBS, 240_000);
      await swarm.stop();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      console.log(`${backend}: killed at ${atKill} jobs; ${done} done after restart; ${swarm.duplicates.n} duplicate uploads counted once`);

      expect(atKill).toBeGreaterThanOrEqual(JOBS / 2);
      expect(atKill).toBeLessThan(JOBS);
      expect(done).toBe(JOBS);
      expect(swarm.overlaps).toEqual([]);
      expect([...swarm.accepted.values()].every((n) => n <= 1)).toBe(true);
      const db = await openDatabase(target);
      try {
        expect(await auditQueue(db)).toEqual({ states: { completed: JOBS }, jobsWithoutExactlyOneResult: 0, overlappingLeases: 0, stillLeased: 0 });
      } finally {
        await db.close();
        await pg?.drop();
      }
    });
  });
});
