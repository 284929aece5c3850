import { describe, expect, it } from 'vitest';
import { applyEvent, connectionText, corsShare, jobFailureText, initialStats, modelProgress, MAX_PROBLEMS, type PageStats } from '../../client/src/lib/stats.ts';
import type { PageEvent } from '../../client/worker/api.ts';

const spec = { min: 0, max: 0.5, bins: 5 };
const fold = (events: PageEvent[], s: PageStats = initialStats(spec)) => events.reduce((acc, e) => applyEvent(acc, e, spec), s);

describe('page counters from worker events', () => {
  it('counts URL jobs: scored, kept, rejected by reason, CORS share, histogram', () => {
    const s = fold([
      { type: 'job:start', jobId: '1', kind: 'url' },
      { type: 'job:progress', jobId: '1', kind: 'url', done: 16, total: 32, unit: 'images', fraction: 0.5 },
      { type: 'job:done', jobId: '1', kind: 'url', ok: true, accepted: true, summary: { kind: 'url', counts: { ok: 3, cors: 2, bomb: 1 }, kept: 1, similarities: [0.05, 0.31, 0.12] } },
      { type: 'job:start', jobId: '2', kind: 'url' },
      { type: 'job:done', jobId: '2', kind: 'url', ok: true, accepted: true, summary: { kind: 'url', counts: { ok: 1, cors: 3 }, kept: 0, similarities: [0.15] } },
      { type: 'job:done', jobId: '3', kind: 'wat', ok: true, accepted: true, summary: { kind: 'wat', candidates: 40, records: 9, damaged: false } },
    ]);
    expect(s.jobsDone).toBe(3);
    expect(s.imagesScored).toBe(4);
    expect(s.pairsKept).toBe(1);
    expect(s.urlsTried).toBe(10);
    expect(s.corsBlocked).toBe(5);
    expect(corsShare(s)).toBe(0.5);
    expect(s.rejected).toEqual({ cors: 5, bomb: 1 });
    expect(s.watCandidates).toBe(40);
    expect(s.histogram).toEqual([1, 2, 0, 1, 0]);
    expect(s.running).toEqual({});
  });

  it('tracks running jobs and clears them on pause', () => {
    let s = fold([{ type: 'job:start', jobId: '9', kind: 'wat' }, { type: 'job:progress', jobId: '9', kind: 'wat', done: 100, total: null, unit: 'records', fraction: 0.25 }]);
    expect(s.running['9']).toEqual({ kind: 'wat', done: 100, total: null, unit: 'records', fraction: 0.25 });
    // progress of a job we do not know (already finished) is ignored
    expect(applyEvent(s, { type: 'job:progress', jobId: 'x', kind: 'wat', done: 1, total: null, unit: '', fraction: null }, spec)).toBe(s);
    s = applyEvent(s, { type: 'state', state: 'paused' }, spec);
    expect(s.running).toEqual({});
    expect(connectionText(s)).toBe('Paused');
    expect(connectionText({ connection: 'connecting', connectionDetail: 'disconnected: transport close' })).toMatch(/reconnecting/);
  });

  it('counts failures and folds repeated problems into one line, newest first, capped', () => {
    let s = fold([
      { type: 'job:done', jobId: '1', kind: 'url', ok: false, accepted: true, reason: 'model_mismatch', summary: { kind: 'other' } },
      { type: 'job:done', jobId: '2', kind: 'url', ok: false, accepted: true, reason: 'model_mismatch', summary: { kind: 'other' } },
      { type: 'job:done', jobId: '3', kind: 'url', ok: false, accepted: true, reason: 'aborted', summary: { kind: 'other' } },
    ]);
    expect(s.jobsFailed).toBe(3);
    expect(s.jobsDone).toBe(0);
    expect(s.problems).toEqual([{ code: 'model_mismatch', message: 'An image batch (URL job) did not complete: this tab has another CLIP model than the job asks for (model_mismatch).', times: 2 }]);
    // an unknown code still reads as a sentence, with the code kept for a bug report
    expect(jobFailureText('wat', 'weird_thing: detail')).toBe('A crawl file (WAT job) did not complete: something went wrong (weird_thing).');
    expect(jobFailureText('wat', 'source_network_error')).toBe('A crawl file (WAT job) did not complete: the download failed (network) (source_network_error).');
    for (let i = 0; i < 20; i++) s = applyEvent(s, { type: 'problem', code: `p${i}`, message: `problem ${i}` }, spec);
    expect(s.problems).toHaveLength(MAX_PROBLEMS);
    expect(s.problems[0]!.code).toBe('p19');
  });

  it('sums model download progress over files and knows when all came from the cache', () => {
    let s = fold([
      { type: 'model', phase: 'initiate', file: 'vision.onnx', loadedBytes: 0, totalBytes: 1000, fromCache: false },
      { type: 'model', phase: 'progress', file: 'vision.onnx', loadedBytes: 400, totalBytes: 1000, fromCache: false },
      { type: 'model', phase: 'initiate', file: 'text.onnx', loadedBytes: 0, totalBytes: 500, fromCache: false },
    ]);
    expect(modelProgress(s)).toEqual({ loadedBytes: 400, totalBytes: 1500, fromCache: false, done: false });
    s = fold([
      { type: 'model', phase: 'done', file: 'vision.onnx', loadedBytes: 1000, totalBytes: 1000, fromCache: false },
      { type: 'model', phase: 'done', file: 'text.onnx', loadedBytes: 500, totalBytes: 500, fromCache: false },
    ], s);
    expect(modelProgress(s)).toMatchObject({ loadedBytes: 1500, done: true, fromCache: false });
    const cached = fold([{ type: 'model', phase: 'done', file: 'a', loadedBytes: 5, totalBytes: 5, fromCache: true }]);
    expect(modelProgress(cached)).toMatchObject({ done: true, fromCache: true });
  });
});

describe('model failure', () => {
  it('drops the half-done download and says CLIP is off until a backend comes up', () => {
    let s = fold([{ type: 'model', phase: 'progress', file: 'v.onnx', loadedBytes: 10, totalBytes: 100, fromCache: false }, { type: 'model:failed' }]);
    expect([s.modelFailed, s.model, s.backend]).toEqual([true, [], null]);
    s = applyEvent(s, { type: 'backend', info: { device: 'wasm', adapter: 'WASM, 1 thread', dtype: 'q8', modelId: 'm', threshold: 0.28, attempts: [] } }, spec);
    expect(s.modelFailed).toBe(false);
  });
});
