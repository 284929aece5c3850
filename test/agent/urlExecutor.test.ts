import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { agentTokenizer, createUrlExecutor } from '../../server/agent/executors.ts';
import type { ModelLoad } from '../../server/agent/modelClient.ts';
import { createFetcher } from '../../server/fetch/fetcher.ts';

describe('agent URL executor', () => {
  it('looks for the model again after a failed load instead of failing every later job with it', async () => {
    const calls: (boolean | undefined)[] = [];
    let coordinatorUp = false;
    const model = async (refresh?: boolean): Promise<ModelLoad> => {
      calls.push(refresh);
      return coordinatorUp ? { ok: false, reason: 'bad_manifest', detail: 'still not this one' } : { ok: false, reason: 'download_failed', detail: 'ECONNREFUSED' };
    };
    const fetcher = createFetcher();
    const executor = createUrlExecutor({ fetcher, model, tokenizer: agentTokenizer() });
    const job = () => ({ jobId: '1', leaseId: randomUUID(), kind: 'url', leaseDeadline: '', payload: { model: { id: 'm', hash: 'a'.repeat(64) }, items: [{ id: 1, url: 'http://example.com/a.jpg', alt: 'a photo' }] } });
    const ctx = { signal: new AbortController().signal, progress: () => {} };
    expect(await executor.run(job(), ctx)).toMatchObject({ ok: false, reason: 'model_unavailable', detail: 'download_failed: ECONNREFUSED', transient: true });
    coordinatorUp = true;
    expect(await executor.run(job(), ctx)).toMatchObject({ ok: false, reason: 'model_unavailable', detail: 'bad_manifest: still not this one' });
    expect(calls).toEqual([undefined, true, undefined, true]);
    await fetcher.close();
  });
});

describe('agent URL executor preprocessing', () => {
  it("prepares images at the model's own imageSize, mean and std (from its manifest), not CLIP ViT-B/32's", async () => {
    const { startFixtureWeb } = await import('../helpers/fixtureWeb.ts');
    const { prepareImage } = await import('../../server/image/prepare.ts');
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const web = await startFixtureWeb({ hosts: [{ ip: '127.0.0.2' }] });
    const fetcher = createFetcher({ allowPrivate: true });
    try {
      const manifest = { imageSize: 64, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], embeddingSize: 2, contextLength: 77, threshold: 0.28 };
      const seen: Float32Array[] = [];
      const session = {
        manifest, modelHash: 'b'.repeat(64),
        embedImages: async (px: Float32Array) => (seen.push(px.slice()), { ok: true, embeddings: new Float32Array((px.length / (3 * 64 * 64)) * 2).fill(Math.SQRT1_2) }),
        embedTexts: async (ids: unknown[]) => ({ ok: true, embeddings: new Float32Array(ids.length * 2).fill(Math.SQRT1_2) }),
        score: (a: Float32Array) => new Float32Array(a.length / 2).fill(1),
        keep: () => true,
      };
      const model = async (): Promise<ModelLoad> => ({ ok: true, model: { session: session as never, manifestHash: 'a'.repeat(64) } });
      const executor = createUrlExecutor({ fetcher, model, tokenizer: agentTokenizer() });
      const payload = { model: { id: 'm', hash: 'a'.repeat(64) }, items: [{ id: 1, url: web.urlFor(0, '/images/skimage-rocket.jpg'), alt: 'a rocket' }] };
      const out = await executor.run({ jobId: '1', leaseId: randomUUID(), kind: 'url', leaseDeadline: '', payload }, { signal: new AbortController().signal, progress: () => {} });
      expect(out).toMatchObject({ ok: true, result: { counts: { ok: 1 } } });
      expect(seen[0]!.length).toBe(3 * 64 * 64);
      const bytes = readFileSync(join(import.meta.dirname, '../fixtures/images/skimage-rocket.jpg'));
      const want = await prepareImage(bytes, { size: 64, mean: manifest.mean, std: manifest.std });
      const clipDefaults = await prepareImage(bytes, { size: 64 });
      if (!want.ok || !clipDefaults.ok) throw new Error('prepare failed');
      expect(Array.from(seen[0]!.subarray(0, 16))).toEqual(Array.from(want.tensor.subarray(0, 16)));
      expect(Array.from(seen[0]!.subarray(0, 16))).not.toEqual(Array.from(clipDefaults.tensor.subarray(0, 16)));
    } finally {
      await fetcher.close();
      await web.close();
    }
  });
});

describe('agent URL executor and model switches', () => {
  it("releases the old model's session once the last job scoring with it is done, not before", async () => {
    const { startFixtureWeb } = await import('../helpers/fixtureWeb.ts');
    const web = await startFixtureWeb({ hosts: [{ ip: '127.0.0.2' }] });
    const fetcher = createFetcher({ allowPrivate: true });
    const released: string[] = [];
    const fake = (name: string) => ({
      manifest: { imageSize: 224, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], embeddingSize: 2, contextLength: 77, threshold: 0.28 },
      modelHash: name.repeat(64),
      embedImages: async (px: Float32Array) => ({ ok: true, embeddings: new Float32Array((px.length / (3 * 224 * 224)) * 2).fill(Math.SQRT1_2) }),
      embedTexts: async (ids: unknown[]) => ({ ok: true, embeddings: new Float32Array(ids.length * 2).fill(Math.SQRT1_2) }),
      score: (a: Float32Array) => new Float32Array(a.length / 2).fill(0.1),
      keep: () => false,
      release: async () => void released.push(name),
    });
    const [a, b] = [fake('a'), fake('b')];
    let serving = a;
    const model = async (): Promise<ModelLoad> => ({ ok: true, model: { session: serving as never, manifestHash: serving.modelHash } });
    const executor = createUrlExecutor({ fetcher, model, tokenizer: agentTokenizer() });
    const ctx = { signal: new AbortController().signal, progress: () => {} };
    const job = (hash: string, delayMs: number) => executor.run({
      jobId: '1', leaseId: randomUUID(), kind: 'url', leaseDeadline: '',
      payload: { model: { id: 'm', hash }, items: [{ id: 1, url: web.urlFor(0, `/images/skimage-rocket.jpg?delayMs=${delayMs}&n=${randomUUID()}`), alt: 'a rocket' }] },
    }, ctx);
    try {
      const slow = job(a.modelHash, 800); // still scoring with A when the coordinator switches
      await new Promise((r) => setTimeout(r, 100));
      serving = b;
      expect(await job(b.modelHash, 0)).toMatchObject({ ok: true });
      expect(released).toEqual([]);
      expect(await slow).toMatchObject({ ok: true });
      expect(released).toEqual(['a']);
      expect(await job(b.modelHash, 0)).toMatchObject({ ok: true });
      expect(released).toEqual(['a']);

      // A look that resolves late (an old model, after a newer one is current) serves its job, then goes,
      // and never displaces the newer session.
      const c = fake('c');
      let resolveLate: (m: ModelLoad) => void = () => {};
      const late = new Promise<ModelLoad>((r) => (resolveLate = r));
      let next: 'late' | 'b' = 'late';
      const executor2 = createUrlExecutor({
        fetcher, tokenizer: agentTokenizer(),
        model: async () => (next === 'late' ? late : { ok: true, model: { session: b as never, manifestHash: b.modelHash } }),
      });
      const run2 = (hash: string) => executor2.run({
        jobId: '2', leaseId: randomUUID(), kind: 'url', leaseDeadline: '',
        payload: { model: { id: 'm', hash }, items: [{ id: 1, url: web.urlFor(0, `/images/skimage-rocket.jpg?n=${randomUUID()}`), alt: 'a rocket' }] },
      }, ctx);
      const stale = run2(c.modelHash);
      next = 'b';
      expect(await run2(b.modelHash)).toMatchObject({ ok: true });
      resolveLate({ ok: true, model: { session: c as never, manifestHash: c.modelHash } });
      expect(await stale).toMatchObject({ ok: true });
      expect(released).toEqual(['a', 'c']);
      expect(await run2(b.modelHash)).toMatchObject({ ok: true });
      expect(released).toEqual(['a', 'c']); // b is still the one in use
    } finally {
      await fetcher.close();
      await web.close();
    }
  });
});
