import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureWeb, type FixtureWeb } from '../helpers/fixtureWeb.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'server', 'cli', 'crawlswarm.mjs');
async function probe(...args: string[]): Promise<{ code: number; line: Record<string, unknown> }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, 'probe', ...args], { timeout: 30_000 });
    return { code: 0, line: JSON.parse(stdout.trim().split('\n').at(-1)!) };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, line: e.stdout.trim() ? JSON.parse(e.stdout.trim().split('\n').at(-1)!) : {} };
  }
}

let web: FixtureWeb;
beforeAll(async () => {
  web = await startFixtureWeb({ hosts: [{ ip: '127.0.0.1' }] });
});
afterAll(async () => {
  await web.close();
});

describe('crawlswarm probe', () => {
  it('refuses loopback by default and fetches it with --allow-private, one JSON line each', async () => {
    const url = web.urlFor(0, '/images/skimage-rocket.jpg');
    const [blocked, allowed] = await Promise.all([probe(url), probe('--allow-private', url)]);
    expect(blocked.code).toBe(1);
    expect(blocked.line).toMatchObject({ url, status: 'blocked-address', httpStatus: null, bytes: 0 });
    expect(allowed.code).toBe(0);
    expect(allowed.line).toMatchObject({ url, status: 'ok', httpStatus: 200, bytes: 112525, format: 'jpeg', width: 640, height: 427, sha256: 'c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c' });
    for (const key of ['url', 'status', 'httpStatus', 'bytes', 'format', 'width', 'height', 'sha256', 'seconds']) expect(allowed.line).toHaveProperty(key);
    expect(web.count('/images/skimage-rocket.jpg')).toBe(1);
  });
  it('reports the reason for a hostile URL and exits 2 without a URL', async () => {
    const r = await probe('--allow-private', web.urlFor(0, '/hostile/noai-scoped'));
    expect(r).toMatchObject({ code: 1, line: { status: 'opt-out', detail: 'X-Robots-Tag crawlswarm: noimageai' } });
    expect((await probe()).code).toBe(2);
  });
});
