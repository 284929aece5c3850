// @vitest-environment node
// The page's WAT jobs keep to the page's private-network rule: no request to the volunteer's own network.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createWatExecutor } from '../../client/worker/watExecutor.ts';

describe('page WAT executor', () => {
  it('refuses WAT files on private, loopback and local-name hosts before any request, unless the page is on one', async () => {
    const requested: string[] = [];
    const spy: typeof fetch = async (input) => {
      requested.push(String(input));
      throw new TypeError('Failed to fetch');
    };
    const run = (allowPrivate: boolean, url: string) =>
      createWatExecutor({ bucket: null, fetchFn: spy, allowPrivate, detector: async () => () => ({ language: '', score: 0 }) })
        .run({ jobId: '1', leaseId: randomUUID(), kind: 'wat', leaseDeadline: '', payload: { url, crawl: null, slice: null, range: null } }, { signal: new AbortController().signal, progress: () => {} });
    for (const url of ['http://192.168.1.1/x.wat.gz', 'http://169.254.169.254/x.wat.gz', 'http://nas.local/x.wat.gz', 'http://localhost:8080/x.wat.gz']) {
      expect(await run(false, url), url).toMatchObject({ ok: false, reason: 'source_blocked_address', transient: false });
    }
    expect(requested).toEqual([]);
    // a public host is tried (and fails here: there is no network), and so is loopback for a page served from it
    expect(await run(false, 'http://data.commoncrawl.org/x.wat.gz')).toMatchObject({ ok: false, reason: 'source_network_error' });
    expect(await run(true, 'http://127.0.0.1/x.wat.gz')).toMatchObject({ ok: false, reason: 'source_network_error' });
    expect(requested).toEqual(['http://data.commoncrawl.org/x.wat.gz', 'http://127.0.0.1/x.wat.gz']);
  });
});
