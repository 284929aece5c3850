// The scoring half of a URL job on a real (tiny) ONNX model: which pairs are kept follows the manifest's
// threshold exactly, and the float16 embedding stored for a kept pair is that image's own L2-normalised
// embedding (not another row, not the text's).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTokenizer } from '../../server/agent/executors.ts';
import { createOrtNodeBackend } from '../../server/clip/ortNode.ts';
import { createClipSession, type ClipSession } from '../../shared/clip/runner.ts';
import { fromFloat16 } from '../../shared/clip/score.ts';
import type { ClipManifest } from '../../shared/clip/manifest.ts';
import { runUrlJob } from '../../shared/jobs/urlJob.ts';
import type { UrlResult } from '../../shared/jobs/url.ts';
import { buildTinyModel, dirLoader, testPixels } from '../helpers/models.ts';

const N = 12;
let dir: string;
let manifest: ClipManifest;
const sessions: ClipSession[] = [];

beforeAll(async () => {
  ({ dir, manifest } = await buildTinyModel({ seed: 5 }));
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

async function session(threshold: number): Promise<ClipSession> {
  const r = await createClipSession({ manifest: { ...manifest, threshold }, backend: createOrtNodeBackend(), devices: ['cpu'], load: dirLoader(dir), dtype: 'fp32' });
  if (!r.ok) throw new Error(r.detail);
  sessions.push(r.session);
  return r.session;
}

const decode = (b64: string) => fromFloat16(new Uint16Array(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer));

async function run(s: ClipSession): Promise<{ result: UrlResult; pixels: Float32Array }> {
  const S = manifest.imageSize;
  const slot = 3 * S * S;
  const pixels = testPixels(N, S, 3);
  const items = Array.from({ length: N }, (_, i) => ({ id: 100 + i, url: `http://example.com/${i}.jpg`, alt: `a photo of thing number ${i}`, language: 'en' }));
  const out = await runUrlJob({ model: { id: manifest.id, hash: 'a'.repeat(64) }, items }, {
    session: s,
    tokenizer: await agentTokenizer()(),
    concurrency: 4,
    batchSize: 5, // batches of 5, 5, 2: rows must not shift between batches
    async prepare(item, dst, offset) {
      const i = item.id - 100;
      dst.set(pixels.subarray(i * slot, (i + 1) * slot), offset);
      return { status: 'ok', httpStatus: 200, bytes: 1000, width: 640, height: 480, sha256: 'c'.repeat(64) };
    },
  }, { signal: new AbortController().signal, progress: () => {} });
  if (!out.ok) throw new Error(out.detail);
  return { result: out.result as UrlResult, pixels };
}

describe('URL job scoring on the tiny model', () => {
  it("stores each kept pair's own normalised image embedding, as float16", async () => {
    const s = await session(-1); // keep everything
    const { result, pixels } = await run(s);
    expect(result.kept).toBe(N);
    const direct = await s.embedImages(pixels);
    if (!direct.ok) throw new Error(direct.detail);
    const D = manifest.embeddingSize;
    for (const [i, u] of result.urls.entries()) {
      expect(u).toMatchObject({ id: 100 + i, kept: true });
      const e = decode(u.embedding!);
      expect(e.length).toBe(D);
      const want = direct.embeddings.subarray(i * D, (i + 1) * D);
      let norm = 0;
      for (let k = 0; k < D; k++) {
        expect(Math.abs(e[k]! - want[k]!)).toBeLessThan(2e-3); // float16 keeps ~3 decimal digits
        norm += e[k]! * e[k]!;
      }
      expect(Math.sqrt(norm)).toBeCloseTo(1, 2);
    }
  });

  it('keeps exactly the pairs at or above the threshold, with an embedding only for those', async () => {
    const all = await run(await session(-1));
    const sims = all.result.urls.map((u) => u.similarity!).sort((a, b) => a - b);
    const threshold = sims[Math.floor(N / 2)]!; // half of them, by construction
    const { result } = await run(await session(threshold));
    const kept = result.urls.filter((u) => u.kept);
    expect(kept.length).toBe(N - Math.floor(N / 2));
    expect(result.kept).toBe(kept.length);
    for (const u of result.urls) {
      expect(u.kept).toBe(u.similarity! >= threshold);
      expect(u.embedding === null).toBe(!u.kept);
    }
  });
});
