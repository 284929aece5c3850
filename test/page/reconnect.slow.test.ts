// The coordinator crashes and comes back (same port, same database) while the page is open: the page says it
// is reconnecting, reconnects by itself and goes on taking jobs, without a reload.
import { rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../server/coordinator.ts';
import { startTestCoordinator } from '../helpers/coordinator.ts';
import { startFixtureWeb, type FixtureWeb } from '../helpers/fixtureWeb.ts';
import { buildTinyModel } from '../helpers/models.ts';
import { buildPage, enqueueUrlJob, launchChromium, startRig, watchErrors, type PageRig } from './harness.ts';

let clientDir: string;
let modelDir: string;
let rig: PageRig;
let second: Coordinator | null = null;
let web: FixtureWeb;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let errors: string[];
const sockets = new Set<Socket>();

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const connection = async () => (await page.getByTestId('connection').textContent()) ?? '';

beforeAll(async () => {
  const [built, model] = await Promise.all([buildPage(), buildTinyModel({ seed: 6 })]);
  clientDir = built;
  modelDir = model.dir;
  rig = await startRig({ clientDir, modelDir });
  rig.coordinator.http.on('connection', (s) => sockets.add(s));
  web = await startFixtureWeb({ hosts: [{ ip: '127.0.0.2', cors: true }] });
  browser = await launchChromium();
  page = await browser.context.newPage();
  errors = watchErrors(page);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await second?.close();
  await rig?.close();
  await web?.close();
  for (const d of [clientDir, modelDir]) if (d) await rm(d, { recursive: true, force: true });
});

describe('coordinator restart', () => {
  it('shows reconnecting, reconnects by itself and completes a job queued meanwhile', async () => {
    await page.goto(`${rig.coordinator.url}/?backend=wasm`);
    await page.getByLabel('Nickname').fill('reconnector');
    await page.getByRole('button', { name: 'Register and start' }).click();
    await waitFor('connected', async () => (await connection()).includes('Connected'));
    await waitFor('model', async () => ((await page.getByTestId('backend').textContent()) ?? '').includes('WASM'));

    const port = Number(new URL(rig.coordinator.url).port);
    const errorsBefore = errors.length;
    // A crash, not a shutdown: stop listening and cut every connection without a goodbye.
    rig.coordinator.http.close();
    for (const s of sockets) s.destroy();
    await rig.coordinator.close().catch(() => {});
    await waitFor('reconnecting', async () => (await connection()).includes('reconnecting'));
    // Queue a job while nobody serves it, then bring a coordinator back on the same address and database.
    const item = { id: 1, url: web.urlFor(0, '/images/skimage-coffee.png'), alt: 'a cup of coffee', language: 'en' };
    second = await startTestCoordinator(rig.db.db, { config: { port, clientDir, modelDir, heartbeatMs: 2_000 } });
    const job = await enqueueUrlJob({ ...rig, coordinator: second }, [item]);
    await waitFor('connected again', async () => (await connection()).includes('Connected'), 30_000).catch(async (e) => {
      throw new Error(`${(e as Error).message}: ${await connection()} | ${await page.locator('main').textContent()} | ${errors.join(' ; ')}`);
    });
    await waitFor(`job ${job} completed after the restart`, async () => {
      const [row] = await rig.db.db.rows<{ state: string }>(sql`select state from jobs where id = ${job}`);
      return row?.state === 'completed';
    });
    // The only console errors allowed are the browser's own lines about refused connections during the outage.
    const outage = errors.slice(errorsBefore);
    expect(outage.every((e) => /ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(e)), outage.join('\n')).toBe(true);
    expect(errors.slice(0, errorsBefore)).toEqual([]);
  });

  it('comes back after a clean shutdown too (socket.io does not reconnect after "server disconnect")', async () => {
    const port = Number(new URL(second!.url).port);
    const errorsBefore = errors.length;
    await second!.close();
    second = null;
    await waitFor('reconnecting', async () => !(await connection()).includes('Connected'));
    const third = await startTestCoordinator(rig.db.db, { config: { port, clientDir, modelDir, heartbeatMs: 2_000 } });
    second = third;
    const item = { id: 2, url: web.urlFor(0, '/images/skimage-chelsea.png'), alt: 'a cat', language: 'en' };
    const job = await enqueueUrlJob({ ...rig, coordinator: third }, [item]);
    await waitFor('connected again', async () => (await connection()).includes('Connected'), 30_000);
    await waitFor(`job ${job} completed after the clean restart`, async () => {
      const [row] = await rig.db.db.rows<{ state: string }>(sql`select state from jobs where id = ${job}`);
      return row?.state === 'completed';
    });
    const outage = errors.slice(errorsBefore);
    expect(outage.every((e) => /ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(e)), outage.join('\n')).toBe(true);
  });
});
