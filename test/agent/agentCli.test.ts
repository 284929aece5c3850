// `crawlswarm agent` as a volunteer runs it: a separate process, talking to a real coordinator.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { cudaProviderInstalled } from '../../server/clip/ortNode.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../server/coordinator.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { createModelProvider } from '../../server/http/modelRoutes.ts';
import type { UrlPayload } from '../../shared/jobs/url.ts';
import { registerVolunteer, startTestCoordinator } from '../helpers/coordinator.ts';
import { startFixtureWeb, type FixtureWeb } from '../helpers/fixtureWeb.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { buildTinyModel } from '../helpers/models.ts';

const CLI = join(import.meta.dirname, '../../server/cli/crawlswarm.mjs');

interface AgentRun {
  lines: Record<string, unknown>[];
  stderr: string;
  exit: Promise<number | null>;
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  signal(s: NodeJS.Signals): void;
}

function startAgent(args: string[], env: NodeJS.ProcessEnv): AgentRun {
  const child = spawn(process.execPath, [CLI, 'agent', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let buf = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ raw: line });
      }
      for (const w of waiters.splice(0)) w();
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    lines,
    get stderr() {
      return stderr;
    },
    exit,
    async waitFor(pred, ms = 30_000) {
      const until = Date.now() + ms;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (Date.now() > until) throw new Error(`agent did not print the expected line; got ${JSON.stringify(lines.slice(-5))} ${stderr.slice(-500)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
    signal: (s) => child.kill(s),
  };
}

describe('crawlswarm agent', () => {
  let t: TestDatabase;
  let coord: Coordinator;
  let web: FixtureWeb;
  let cfg: string;
  let modelDir: string;

  beforeAll(async () => {
    modelDir = (await buildTinyModel()).dir;
    t = await openTestDatabase('pglite');
    coord = await startTestCoordinator(t.db, { config: { modelDir } });
    web = await startFixtureWeb({ hosts: [{ ip: '127.0.0.2' }, { ip: '127.0.0.3' }] });
    cfg = await mkdtemp(join(tmpdir(), 'cs-agent-cfg-'));
  });
  afterAll(async () => {
    await coord?.close();
    await t?.drop();
    await web?.close();
    await rm(cfg, { recursive: true, force: true });
  });

  const env = () => ({ CRAWLSWARM_CONFIG_DIR: cfg, CRAWLSWARM_CACHE_DIR: cfg });

  it('--dry-run: registers, runs jobs, and on Ctrl-C finishes its running jobs, says bye and prints a summary', async () => {
    await enqueueJobs(t.db, Array.from({ length: 6 }, (_, seq) => ({ kind: 'noop', payload: { seq, workMs: 300 } })));
    const agent = startAgent(['--server', coord.url, '--nickname', 'cli-agent', '--dry-run', '--json', '--concurrency', '2'], env());
    await agent.waitFor((l) => l.event === 'job:start');
    agent.signal('SIGINT');
    expect(await agent.exit).toBe(0);
    const summary = agent.lines.find((l) => l.event === 'summary');
    expect(summary).toMatchObject({ state: 'stopped', jobsFailed: 0 });
    expect(summary!.jobsDone as number).toBeGreaterThanOrEqual(1);
    const leased = await t.db.rows<{ n: number }>(sql`select count(*)::int as n from assignments where state = 'leased'`);
    expect(leased[0]!.n).toBe(0); // drained or handed back, never left to expire
    const gone = await t.db.rows<{ n: number }>(sql`select count(*)::int as n from workers where disconnected_at is null`);
    expect(gone[0]!.n).toBe(0);
    // a second run reuses the saved token: same volunteer, no new registration
    const again = startAgent(['--server', coord.url, '--nickname', 'cli-agent', '--dry-run', '--json'], env());
    await again.waitFor((l) => l.event === 'state' && l.state === 'ready');
    again.signal('SIGINT');
    expect(await again.exit).toBe(0);
    const vols = await t.db.rows<{ n: number }>(sql`select count(*)::int as n from volunteers where nickname = 'cli-agent'`);
    expect(vols[0]!.n).toBe(1);
  });

  it('a second Ctrl-C hands running jobs back at once instead of waiting for them', async () => {
    await t.db.rows(sql`update jobs set state = 'failed' where state in ('queued', 'active')`);
    const ids = await enqueueJobs(t.db, [0, 1].map((seq) => ({ kind: 'noop', payload: { seq, workMs: 50_000 } })));
    const agent = startAgent(['--server', coord.url, '--nickname', 'impatient', '--dry-run', '--json', '--concurrency', '2'], env());
    await agent.waitFor((l) => agent.lines.filter((x) => x.event === 'job:start').length === 2 && !!l);
    const t0 = Date.now();
    agent.signal('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    agent.signal('SIGINT');
    expect(await agent.exit, agent.stderr + JSON.stringify(agent.lines)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000); // not the 50 s the jobs would take
    const rows = await t.db.rows<{ state: string; assignment: string }>(sql`
      select j.state, a.state as assignment from jobs j join assignments a on a.job_id = j.id
      where j.id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`);
    expect(rows).toEqual([{ state: 'queued', assignment: 'released' }, { state: 'queued', assignment: 'released' }]);
    const [worker] = await t.db.rows<{ capabilities: { backends: string[] } }>(sql`
      select w.capabilities from workers w join volunteers v on v.id = w.volunteer_id where v.nickname = 'impatient'`);
    // the devices this host can score on: CUDA only where its provider is installed
    expect(worker!.capabilities.backends).toEqual(cudaProviderInstalled() ? ['cuda', 'cpu'] : ['cpu']);
  });

  it('bad flags exit 2 with a reason, not a stack trace', async () => {
    for (const [args, why] of [
      [['--fetches', '0'], /--fetches must be an integer/],
      [['--fetches', 'lots'], /--fetches must be an integer/],
      [['--concurrency', '0'], /--concurrency must be an integer/],
      [['--bogus'], /Unknown option '--bogus'.*crawlswarm agent --help/],
    ] as const) {
      const agent = startAgent(['--server', coord.url, '--token', 'x'.repeat(43), ...args], env());
      expect(await agent.exit, args.join(' ')).toBe(2);
      expect(agent.stderr).toMatch(why);
      expect(agent.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('exits with a clear reason when its token is refused', async () => {
    const agent = startAgent(['--server', coord.url, '--token', 'x'.repeat(43), '--dry-run', '--json'], env());
    expect(await agent.exit).toBe(1);
    expect(agent.lines.find((l) => l.event === 'state' && l.state === 'refused')?.detail).toMatch(/unauthorized/);
  });

  it('runs a URL job end to end: fetch, preprocess, CLIP with the coordinator model, upload', async () => {
    const info = await createModelProvider(modelDir)();
    if ('error' in info) throw new Error(info.detail);
    const items = [
      { id: 1, url: web.urlFor(0, '/images/skimage-rocket.jpg'), alt: 'a rocket launch', language: 'en' },
      { id: 2, url: web.urlFor(1, '/images/pillow-hopper.jpg'), alt: 'portrait of Grace Hopper', language: 'en' },
      { id: 3, url: web.urlFor(1, '/hostile/html-as-jpeg'), alt: 'not an image at all', language: 'en' },
      { id: 4, url: web.urlFor(0, '/hostile/bomb.png'), alt: 'a decompression bomb', language: 'en' },
    ];
    const [jobId] = await enqueueJobs(t.db, [{ kind: 'url', payload: { model: { id: info.manifest.id, hash: info.hash }, items } satisfies UrlPayload }]);
    const agent = startAgent(['--server', coord.url, '--nickname', 'url-agent', '--json', '--jobs', 'url', '--allow-private'], env());
    await agent.waitFor((l) => l.event === 'job:done' && l.kind === 'url', 60_000);
    agent.signal('SIGINT');
    expect(await agent.exit).toBe(0);
    const [row] = await t.db.rows<{ body: { urls: { id: number; status: string; similarity: number | null; width: number | null }[]; counts: Record<string, number>; modelHash: string } }>(
      sql`select body from results where job_id = ${jobId}`);
    const byId = Object.fromEntries(row!.body.urls.map((u) => [u.id, u]));
    expect(byId[1]).toMatchObject({ status: 'ok', width: 640 });
    expect(byId[2]).toMatchObject({ status: 'ok', width: 128 });
    expect(typeof byId[1]!.similarity).toBe('number');
    expect(byId[3]!.status).toBe('not-image');
    expect(byId[4]!.status).toBe('bomb');
    expect(row!.body.counts).toEqual({ ok: 2, 'not-image': 1, bomb: 1 });
    expect(row!.body.modelHash).toMatch(/^[0-9a-f]{64}$/);
    expect(agent.lines.find((l) => l.event === 'summary')).toMatchObject({ jobsDone: 1, items: 4, statuses: { ok: 2, 'not-image': 1, bomb: 1 } });
  });
});
