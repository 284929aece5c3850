// @vitest-environment node
// The page's per-image step against the loopback fixture web: statuses from the shared checks before any
// decode, limits while streaming, the per-host limit, timeouts, cancellation. Node's fetch ignores
// `mode: 'cors'`, so the CORS-versus-network decision is driven here by a fetch that refuses cors-mode
// requests the way a browser does (a bare TypeError); the real thing runs in test/page (Chromium).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIP_TENSOR_LENGTH } from '../../shared/image/clip.ts';
import type { UrlJobItem } from '../../shared/jobs/url.ts';
import { HostSlots } from '../../client/worker/limits.ts';
import { clipResizeDims, createBrowserPrepare, roundHalfEven, type DecodeToClip } from '../../client/worker/prepareImage.ts';
import { startFixtureWeb, type FixtureWeb } from '../helpers/fixtureWeb.ts';

let web: FixtureWeb;
const decoded: string[] = [];
/** Stands in for createImageBitmap: a mid-grey image, and a record that decoding was reached. */
const greyDecode: DecodeToClip = async (_bytes, header, size) => {
  decoded.push(`${header.format} ${header.width}x${header.height}`);
  return new Uint8ClampedArray(size * size * 4).fill(128);
};

beforeAll(async () => {
  web = await startFixtureWeb({ hosts: [{ ip: '127.0.0.1', cors: true }] });
});
afterAll(() => web.close());

let nextId = 1;
const item = (path: string): UrlJobItem => ({ id: nextId++, url: web.urlFor(0, path), alt: 'x', language: 'en' });

function prepare(over: Partial<Parameters<typeof createBrowserPrepare>[0]> = {}) {
  // the fixture web is on loopback, as for a page served from 127.0.0.1
  return createBrowserPrepare({ fetchFn: fetch, hosts: new HostSlots(2), bucket: null, decode: greyDecode, size: 224, allowPrivate: true, ...over });
}

describe('browser prepare (fetch + checks + decode)', () => {
  it('fetches, hashes and writes the tensor at the offset for a good image', async () => {
    const out = new Float32Array(2 * CLIP_TENSOR_LENGTH).fill(-9);
    const r = await prepare()(item('/images/skimage-rocket.jpg'), out, CLIP_TENSOR_LENGTH, new AbortController().signal);
    expect(r).toMatchObject({ status: 'ok', httpStatus: 200, width: 640, height: 427 });
    expect(decoded.at(-1)).toBe('jpeg 640x427');
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(out[0]).toBe(-9); // first slot untouched
    expect(out[CLIP_TENSOR_LENGTH]).toBeCloseTo((128 / 255 - 0.48145466) / 0.26862954, 5);
  });

  it("normalises with the model's own mean and std when the manifest gives them", async () => {
    const out = new Float32Array(3 * 64 * 64);
    const r = await prepare({ size: 64, mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.1] })(item('/images/skimage-rocket.jpg'), out, 0, new AbortController().signal);
    expect(r.status).toBe('ok');
    expect(out[0]).toBeCloseTo((128 / 255 - 0.5) / 0.25, 5);
    expect(out[64 * 64]).toBeCloseTo((128 / 255 - 0.4) / 0.2, 5);
    expect(out[2 * 64 * 64]).toBeCloseTo((128 / 255 - 0.3) / 0.1, 5);
  });

  it('a public page never sends a request to loopback, private or local-name hosts', async () => {
    const requested: string[] = [];
    const spy: typeof fetch = (input, init) => {
      requested.push(String(input));
      return fetch(input, init);
    };
    const p = prepare({ fetchFn: spy, allowPrivate: false });
    const out = new Float32Array(CLIP_TENSOR_LENGTH);
    const sig = new AbortController().signal;
    for (const url of [web.urlFor(0, '/images/skimage-rocket.jpg'), 'http://169.254.169.254/latest/meta-data/', 'http://router.local/admin.png', 'http://nas/x.jpg', 'http://[::1]:8080/a.jpg']) {
      const r = await p({ id: nextId++, url, alt: 'x', language: 'en' }, out, 0, sig);
      expect(r.status, url).toBe('blocked-address');
      expect(r.detail, url).toMatch(/local|loopback|linkLocal|private/);
    }
    expect(requested).toEqual([]);
    // the same loopback image is fetched when the page itself is on loopback
    expect((await prepare({ fetchFn: spy })(item('/images/skimage-rocket.jpg'), out, 0, sig)).status).toBe('ok');
    expect(requested).toHaveLength(1);
  });

  it('refuses hostile files from their bytes, before decoding', async () => {
    decoded.length = 0;
    const p = prepare();
    const sig = new AbortController().signal;
    const out = new Float32Array(CLIP_TENSOR_LENGTH);
    const statuses = [];
    for (const path of ['/hostile/bomb.png', '/hostile/pixel.png', '/hostile/html-as-jpeg', '/hostile/gif-as-jpeg', '/hostile/status/404', '/hostile/noai', '/hostile/noai-scoped', '/images/pillow-hopper.webp']) {
      statuses.push((await p(item(path), out, 0, sig)).status);
    }
    expect(statuses).toEqual(['bomb', 'too-small', 'not-image', 'not-image', 'http-error', 'opt-out', 'opt-out', 'too-small']);
    expect(decoded).toEqual([]);
    expect((await p(item('/hostile/noai-other-bot'), out, 0, sig)).status).toBe('ok');
  });

  it('stops an endless body at the size cap and a stalled one at the time budget', async () => {
    const out = new Float32Array(CLIP_TENSOR_LENGTH);
    const sig = new AbortController().signal;
    expect((await prepare({ maxBytes: 200_000 })(item('/hostile/endless.jpg'), out, 0, sig)).status).toBe('too-large');
    expect((await prepare({ maxBytes: 200_000 })(item('/hostile/huge-length.jpg'), out, 0, sig)).status).toBe('too-large');
    const t0 = performance.now();
    expect((await prepare({ timeoutMs: 300 })(item('/hostile/stall.jpg'), out, 0, sig)).status).toBe('timeout');
    expect(performance.now() - t0).toBeLessThan(3000);
    const failing: DecodeToClip = async () => {
      throw new Error('The source image could not be decoded.');
    };
    expect(await prepare({ decode: failing })(item('/hostile/truncated.jpg'), out, 0, sig)).toMatchObject({ status: 'decode-error', width: 640, height: 427 });
  });

  it('keeps at most 2 downloads per host in flight and reports cancellation as aborted', async () => {
    const p = prepare();
    const out = new Float32Array(8 * CLIP_TENSOR_LENGTH);
    const ac = new AbortController();
    const before = web.maxInFlight();
    const all = Array.from({ length: 8 }, (_, i) => p(item(`/images/skimage-coffee.png?delayMs=150&n=${i}`), out, i * CLIP_TENSOR_LENGTH, ac.signal));
    setTimeout(() => ac.abort(new Error('paused')), 350);
    const results = await Promise.all(all);
    expect(web.maxInFlight()).toBeLessThanOrEqual(Math.max(2, before));
    expect(results.filter((r) => r.status === 'ok').length).toBeGreaterThanOrEqual(2);
    expect(results.filter((r) => r.status === 'aborted').length).toBeGreaterThanOrEqual(2);
    expect(results.every((r) => r.status === 'ok' || r.status === 'aborted')).toBe(true);
  });

  it('says cors when only the CORS read fails, connect-error when the host does not answer at all', async () => {
    const modes: string[] = [];
    const browserLike: typeof fetch = async (input, init) => {
      modes.push(init?.mode ?? 'default');
      if (init?.mode === 'cors') throw new TypeError('Failed to fetch');
      return fetch(input, init);
    };
    const out = new Float32Array(CLIP_TENSOR_LENGTH);
    const r = await prepare({ fetchFn: browserLike })(item('/images/skimage-coffee.png'), out, 0, new AbortController().signal);
    expect(r).toMatchObject({ status: 'cors', httpStatus: null, sha256: null });
    expect(modes).toEqual(['cors', 'no-cors']);
    const down = await prepare({ fetchFn: browserLike })({ id: 1, url: 'http://127.0.0.1:1/x.jpg', alt: 'x', language: '' }, out, 0, new AbortController().signal);
    expect(down.status).toBe('connect-error');
    expect((await prepare()({ id: 2, url: 'ftp://example.org/x.jpg', alt: 'x', language: '' }, out, 0, new AbortController().signal)).status).toBe('bad-url');
  });

  it('uses torchvision geometry for resize and crop', () => {
    expect(clipResizeDims(640, 427, 224)).toEqual([335, 224]);
    expect(clipResizeDims(427, 640, 224)).toEqual([224, 335]);
    expect(roundHalfEven(55.5)).toBe(56);
    expect(roundHalfEven(54.5)).toBe(54);
  });
});

describe("the tab's download budget", () => {
  it('holds all jobs together to it, and images waiting on a busy host do not take its slots', async () => {
    const two = await startFixtureWeb({ hosts: [{ ip: '127.0.0.2', cors: true }, { ip: '127.0.0.3', cors: true }] });
    try {
      let tab = new HostSlots(2);
      const p = prepare({ hosts: new HostSlots(1), tabSlots: () => tab });
      const out = new Float32Array(CLIP_TENSOR_LENGTH);
      const sig = new AbortController().signal;
      const at = (host: number, delayMs: number) => ({ id: nextId++, url: two.urlFor(host, `/images/skimage-rocket.jpg?delayMs=${delayMs}&n=${nextId}`), alt: 'x', language: 'en' });
      // three slow images on host 0 (one at a time there) and one on host 1: host 1 must not wait behind them
      const slow = [0, 1, 2].map(() => p(at(0, 300), out, 0, sig));
      let slowDone = 0;
      for (const x of slow) void x.then(() => slowDone++);
      const fast = await p(at(1, 0), out, 0, sig);
      expect(fast.status).toBe('ok');
      expect(slowDone).toBe(0); // it did not wait for a slow one to give up its slot
      expect((await Promise.all(slow)).map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
      // over both hosts, never more than the budget in flight; a new budget applies to the next image
      tab = new HostSlots(1);
      const p2 = prepare({ hosts: new HostSlots(2), tabSlots: () => tab });
      const t1 = performance.now();
      const four = await Promise.all([0, 1, 0, 1].map((h) => p2(at(h, 100), out, 0, sig)));
      expect(four.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
      // one at a time: four answers of 100 ms each (the hosts alone would allow all four at once)
      expect(performance.now() - t1).toBeGreaterThan(380);
    } finally {
      await two.close();
    }
  });
});
