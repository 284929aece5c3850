// WAT jobs in the browser: the shared job (shared/jobs/watJob.ts: slicing, candidates, result) over the shared
// extraction with the web DecompressionStream inflater and ELD language detection, reading the file with a
// CORS fetch through the tab's bandwidth cap. The coordinator sends WAT jobs to browsers only for sources that
// allow CORS reads; a browser cannot tell a CORS refusal from a network error, so the detail says both.
import type { JobExecutor } from '../../shared/client/executor.ts';
import { runWatJob, type WatExtract } from '../../shared/jobs/watJob.ts';
import { WatPayload } from '../../shared/jobs/wat.ts';
import { createEldDetector, extractWat, openWatUrl, type LanguageDetector } from '../../shared/wat/index.ts';
import { checkUrlHost } from '../../shared/net/address.ts';
import { throttled, type ByteBucket } from './limits.ts';

export interface WatExecutorOptions {
  fetchFn?: typeof fetch;
  /** Fetch WAT files from loopback, private and local-name hosts too (a page served from one; see controller). */
  allowPrivate?: boolean;
  bucket: ByteBucket | null;
  /** Loaded once per worker, on the first WAT job. */
  detector?: () => Promise<LanguageDetector>;
}

export function createWatExecutor(opts: WatExecutorOptions): JobExecutor {
  const fetchFn: typeof fetch = async (input, init) => {
    // the same rule as for images: no request at all to the volunteer's own network
    const host = checkUrlHost(new URL(input instanceof Request ? input.url : String(input)).hostname, opts.allowPrivate);
    if (!host.ok) throw Object.assign(new Error(host.detail), { code: 'BLOCKED_ADDRESS' });
    return (opts.fetchFn ?? fetch)(input, { mode: 'cors', credentials: 'omit', ...init });
  };
  let detector: Promise<LanguageDetector> | null = null;
  const loadDetector = () => (detector ??= (opts.detector ?? (() => createEldDetector('small')))());

  const extract: WatExtract = async (url, o) => {
    const source = await openWatUrl(url, { range: o.range, signal: o.signal, fetchFn });
    if (!source.ok) {
      return source.reason === 'network_error' ? { ...source, detail: `${source.detail} (from a browser: CORS refused or network down)` } : source;
    }
    const summary = await extractWat(throttled(source.chunks, opts.bucket, o.signal), {
      detectLanguage: await loadDetector(),
      startOffset: source.startOffset,
      endOffset: source.endOffset,
      totalBytes: source.totalBytes,
      onCandidates: o.onCandidates,
      onProgress: o.onProgress,
    });
    return { ok: true, summary };
  };

  return {
    async run(job, ctx) {
      const parsed = WatPayload.safeParse(job.payload);
      if (!parsed.success) return { ok: false, reason: 'bad_payload', detail: parsed.error.message.slice(0, 500), transient: false };
      return runWatJob(parsed.data, extract, ctx, fetchFn);
    },
  };
}
