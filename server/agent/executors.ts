import type { JobExecutor } from '../../shared/client/executor.ts';
import type { ClipSession } from '../../shared/clip/runner.ts';
import type { ClipTokenizer } from '../../shared/clip/tokenizer.ts';
import { NoopPayload, runNoop } from '../../shared/jobs/noop.ts';
import { UrlPayload } from '../../shared/jobs/url.ts';
import { runUrlJob } from '../../shared/jobs/urlJob.ts';
import { WatPayload } from '../../shared/jobs/wat.ts';
import { runWatJob } from '../../shared/jobs/watJob.ts';
import { createClipTokenizerCache } from '../clip/vocab.ts';
import type { Fetcher } from '../fetch/fetcher.ts';
import { fetchAndPrepare } from '../image/pipeline.ts';
import { extractWatFromLocation } from '../wat/extract-node.ts';
import type { ModelLoad } from './modelClient.ts';

export const noopExecutor: JobExecutor = {
  async run(job, ctx) {
    const payload = NoopPayload.parse(job.payload);
    if (payload.workMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, payload.workMs);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return { ok: true, result: runNoop(payload) };
  },
};

function badPayload(kind: string, error: { issues: { path: PropertyKey[]; message: string }[] }) {
  return { ok: false as const, reason: 'bad_payload', detail: `${kind}: ${error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, transient: false };
}

/** WAT jobs in Node: zlib inflation, file or HTTP(S) source with byte ranges. */
/**
 * WAT jobs in Node: zlib, with the download going through `fetchFn`. The agent passes its guarded fetch
 * (address checks on every hop, User-Agent, the bandwidth cap): the WAT URL comes from the coordinator.
 */
export function createWatExecutor(opts: { fetchFn: typeof fetch }): JobExecutor {
  return {
    async run(job, ctx) {
      const parsed = WatPayload.safeParse(job.payload);
      if (!parsed.success) return badPayload('wat', parsed.error);
      return runWatJob(parsed.data, (url, o) => extractWatFromLocation(url, { ...o, fetchFn: opts.fetchFn }), ctx, opts.fetchFn);
    },
  };
}

export interface UrlExecutorDeps {
  fetcher: Fetcher;
  /** Loads (once) and returns the coordinator's current model; `refresh` forces a new look. */
  model(refresh?: boolean): Promise<ModelLoad>;
  tokenizer(): Promise<ClipTokenizer>;
  /** Images per CLIP batch (default 16). */
  batchSize?: number;
}

/** URL jobs in Node: the polite fetcher, sharp preprocessing, onnxruntime-node. */
export function createUrlExecutor(deps: UrlExecutorDeps): JobExecutor {
  // Sessions in use by running jobs. When the coordinator switches models, the old session (hundreds of MB)
  // is released once the last job still scoring with it is done.
  const users = new Map<ClipSession, number>();
  let current: ClipSession | null = null;
  const retired = new Set<ClipSession>();
  const released = new WeakSet<ClipSession>();
  const releaseIfIdle = (s: ClipSession) => {
    if (!retired.has(s) || (users.get(s) ?? 0) > 0) return;
    retired.delete(s);
    users.delete(s);
    released.add(s);
    void s.release().catch(() => {});
  };
  // Which look at the model produced `current`: a job whose look was older and resolved late must not make
  // its session current again over a newer one.
  let looks = 0;
  let currentLook = 0;
  /** Null when `s` was released meanwhile (a job that resolved an old model late): look again. */
  const use = (s: ClipSession, look: number): (() => void) | null => {
    if (released.has(s)) return null;
    if (current !== s && !retired.has(s)) {
      if (look < currentLook) retired.add(s); // stale: serves this job, then goes
      else {
        if (current) {
          retired.add(current);
          releaseIfIdle(current);
        }
        current = s;
        currentLook = look;
      }
    }
    users.set(s, (users.get(s) ?? 0) + 1);
    return () => {
      users.set(s, (users.get(s) ?? 1) - 1);
      releaseIfIdle(s);
    };
  };
  return {
    async run(job, ctx) {
      const parsed = UrlPayload.safeParse(job.payload);
      if (!parsed.success) return badPayload('url', parsed.error);
      const payload = parsed.data;
      let look = ++looks;
      let loaded = await deps.model();
      let done: (() => void) | null = null;
      for (let attempt = 0; attempt < 2 && !done; attempt++) {
        // Look again when the coordinator switched models, after a failed load (a restart, a broken
        // download: a failure is not kept, or every later URL job would fail with it), and when the
        // session resolved was released meanwhile by a switch.
        if (attempt > 0 || !loaded.ok || loaded.model.manifestHash !== payload.model.hash) {
          look = ++looks;
          loaded = await deps.model(true);
        }
        if (!loaded.ok) return { ok: false, reason: 'model_unavailable', detail: `${loaded.reason}: ${loaded.detail}`, transient: true };
        if (loaded.model.manifestHash !== payload.model.hash) {
          return { ok: false, reason: 'model_mismatch', detail: `job wants model ${payload.model.hash.slice(0, 12)}, the coordinator serves ${loaded.model.manifestHash.slice(0, 12)}`, transient: true };
        }
        done = use(loaded.model.session, look);
      }
      if (!done || !loaded.ok) return { ok: false, reason: 'model_unavailable', detail: 'the model was switched twice while this job started', transient: true };
      const { imageSize: size, mean, std } = loaded.model.session.manifest;
      try {
        const tokenizer = await deps.tokenizer();
        return await runUrlJob(payload, {
          session: loaded.model.session,
          tokenizer,
          concurrency: deps.fetcher.options.concurrency,
          batchSize: deps.batchSize ?? 16,
          async prepare(item, out, offset, signal) {
            const { result } = await fetchAndPrepare(deps.fetcher, item.url, { out, offset, signal, size, mean, std });
            return { status: result.status, httpStatus: result.httpStatus, bytes: result.bytes, width: result.width, height: result.height, sha256: result.sha256, detail: result.detail };
          },
        }, ctx);
      } finally {
        done();
      }
    },
  };
}

/** Memoises the tokenizer load for one agent. */
export function agentTokenizer(): () => Promise<ClipTokenizer> {
  const cache = createClipTokenizerCache();
  return async () => {
    const r = await cache();
    if (!r.ok) throw new Error(`CLIP vocabulary: ${r.reason}: ${r.detail}`);
    return r.tokenizer;
  };
}
