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
