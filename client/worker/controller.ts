// The worker's state and the API the page calls through comlink: one WorkClient (shared with the agent)
// with the browser executors, the CLIP session, the download limits. Created by worker.ts; no module state.
import type { ExecutionOutcome, JobExecutor } from '../../shared/client/executor.ts';
import { WorkClient, type WorkClientEvent } from '../../shared/client/workClient.ts';
import type { ClipTokenizer } from '../../shared/clip/tokenizer.ts';
import { isUrlStatus, type UrlStatus } from '../../shared/image/status.ts';
import { runUrlJob } from '../../shared/jobs/urlJob.ts';
import { UrlPayload, type UrlResult } from '../../shared/jobs/url.ts';
import type { WatResult } from '../../shared/jobs/wat.ts';
import type { JobSummary, PageEvent, StartOptions, VolunteerWorkerApi, WorkerSettings } from './api.ts';
import { loadTokenizer, openClip, type OpenedClip } from './clipSetup.ts';
import { ByteBucket, HostSlots } from './limits.ts';
import { memoryModelCache, openIdbModelCache, type ModelCache } from './modelCache.ts';
import { fetchActiveModel, type ActiveModel } from './modelLoader.ts';
import { createBrowserPrepare, decodeWithImageBitmap } from './prepareImage.ts';
import { checkUrlHost } from '../../shared/net/address.ts';
import { progressFraction } from '../../shared/protocol/job.ts';
import { createWatExecutor } from './watExecutor.ts';

/** Images per CLIP batch in the page: small enough that a batch's downloads keep the tab responsive. */
const URL_BATCH = 16;
/** Downloads per host at once (the agent's politeness rule). */
const PER_HOST = 2;

export function summarise(kind: string, outcome: ExecutionOutcome): JobSummary {
  if (!outcome.ok) return { kind: 'other' };
  if (kind === 'url') {
    const r = outcome.result as UrlResult;
    const counts: Partial<Record<UrlStatus, number>> = {};
    for (const [k, v] of Object.entries(r.counts)) if (isUrlStatus(k)) counts[k] = v;
    return { kind: 'url', counts, kept: r.kept, similarities: r.urls.flatMap((u) => (u.similarity === null ? [] : [u.similarity])) };
  }
  if (kind === 'wat') {
    const r = outcome.result as WatResult;
    return { kind: 'wat', candidates: r.summary.candidates, records: r.summary.records, damaged: r.summary.damaged };
  }
  return { kind: 'other' };
}

/** Plain words for reasons a volunteer may see. Unknown reasons pass through as they are. */
export function plainStartProblem(reason: string, detail: string): string {
  switch (reason) {
    case 'no_model':
      return 'The coordinator has no CLIP model yet, so this tab only reads crawl files (no image scoring).';
    case 'unreachable':
      return 'The coordinator cannot be reached. Check your connection; the page keeps trying.';
    case 'no_webgpu':
      return 'You chose WebGPU, but this browser has no WebGPU adapter. Choose "automatic" or "WASM".';
    case 'device_failed':
    case 'unsupported_device':
      return `CLIP could not start on this device (${detail}).`;
    case 'load_failed':
      return `The model could not be downloaded (${detail}).`;
    default:
      return `${reason}: ${detail}`;
  }
}

/** A page served from loopback or a local network (a developer, the offline demo, the tests) may fetch images
 * there too: whoever runs that coordinator already runs code on that network. A public page may not. */
const PAGE_ON_PRIVATE_HOST = typeof self !== 'undefined' && 'location' in self && !checkUrlHost(self.location.hostname).ok;

export function createController(): VolunteerWorkerApi {
  let client: WorkClient | null = null;
  let clip: OpenedClip | null = null;
  let tokenizer: ClipTokenizer | null = null;
  let model: ActiveModel | null = null;
  let cache: ModelCache | null = null;
  let current: { opts: StartOptions; onEvent: (e: PageEvent) => void } | null = null;
  let settings: WorkerSettings | null = null;
  let switching: Promise<void> | null = null;
  const hosts = new HostSlots(PER_HOST);
  let downloads = new HostSlots(4);
  const bucket = new ByteBucket(0);

  async function openCache(emit: (e: PageEvent) => void): Promise<ModelCache> {
    if (cache) return cache;
    try {
      cache = await openIdbModelCache();
    } catch (e) {
      emit({ type: 'problem', code: 'cache_unavailable', message: `This browser would not let us keep the model for next time (${(e as Error).message}); it will be downloaded again on your next visit.` });
      cache = memoryModelCache();
    }
    return cache;
  }

  /** Loads the coordinator's current model in place of the old one (files cached, old ones pruned). */
  async function switchModel(): Promise<void> {
    if (!current) return;
    const active = await fetchActiveModel(current.opts.coordinatorUrl);
    if (!active.ok || active.model.hash === model?.hash) return;
    const emit = current.onEvent;
    const opened = await openClip({
      origin: current.opts.coordinatorUrl,
      model: active.model,
      choice: settings?.backend ?? 'auto',
      wasmThreads: settings?.wasmThreads ?? 0,
      cache: await openCache(emit),
      onProgress: (p) => emit({ type: 'model', ...p }),
      onWarning: (message) => emit({ type: 'problem', code: 'cache_warning', message }),
      bucket,
    }).catch((e: unknown) => ({ ok: false as const, reason: 'device_failed', detail: (e as Error).message }));
    if (!opened.ok) {
      emit({ type: 'problem', code: opened.reason, message: plainStartProblem(opened.reason, opened.detail) });
      return;
    }
    const old = clip;
    model = active.model;
    clip = opened.clip;
    emit({ type: 'backend', info: clip.info });
    emit({ type: 'problem', code: 'model_switched', message: `The coordinator switched to the model ${model.manifest.id}; this tab now uses it.` });
    await old?.session.release().catch(() => {});
  }

  function urlExecutor(): JobExecutor {
    return {
      async run(job, ctx) {
        const parsed = UrlPayload.safeParse(job.payload);
        if (!parsed.success) return { ok: false, reason: 'bad_payload', detail: parsed.error.message.slice(0, 500), transient: false };
        if (!clip || !tokenizer || !model) return { ok: false, reason: 'no_model', detail: 'this tab has no CLIP model loaded', transient: true };
        const want = parsed.data.model.hash;
        if (want !== model.hash && want !== clip.session.modelHash) {
          // The coordinator may have switched models since this tab loaded one: look again, once for all jobs.
          switching ??= switchModel().finally(() => (switching = null));
          await switching;
          if (!clip || !model || (want !== model.hash && want !== clip.session.modelHash)) {
            return { ok: false, reason: 'model_mismatch', detail: `job wants ${parsed.data.model.id} ${want.slice(0, 12)}, this tab has ${model?.manifest.id} ${model?.hash.slice(0, 12)}`, transient: true };
          }
        }
        const prepare = createBrowserPrepare({ fetchFn: (i, init) => fetch(i, init), hosts, bucket, decode: decodeWithImageBitmap, size: model.manifest.imageSize, mean: model.manifest.mean, std: model.manifest.std, allowPrivate: PAGE_ON_PRIVATE_HOST, tabSlots: () => downloads });
        return runUrlJob(parsed.data, { prepare, session: clip.session, tokenizer: tokenizer!, concurrency: settings?.parallelDownloads ?? 4, batchSize: URL_BATCH }, ctx);
      },
    };
  }

  async function start(opts: StartOptions, onEvent: (e: PageEvent) => void): ReturnType<VolunteerWorkerApi['start']> {
    if (client) return { ok: true };
    current = { opts, onEvent };
    settings = opts.settings;
    if (downloads.perHost !== settings.parallelDownloads) downloads = new HostSlots(settings.parallelDownloads);
    bucket.setRate(settings.bandwidthKiBps * 1024);
    const emit = (e: PageEvent) => {
      try {
        onEvent(e);
      } catch {
        // the page went away; the work goes on until stop()
      }
    };
    const jobKinds = ['wat'];
    if (!clip) {
      const active = await fetchActiveModel(opts.coordinatorUrl);
      if (!active.ok) {
        emit({ type: 'problem', code: active.reason, message: plainStartProblem(active.reason, active.detail) });
      } else {
        model = active.model;
        const opened = await openClip({
          origin: opts.coordinatorUrl,
          model,
          choice: settings.backend,
          wasmThreads: settings.wasmThreads,
          cache: await openCache(emit),
          onProgress: (p) => emit({ type: 'model', ...p }),
          onWarning: (message) => emit({ type: 'problem', code: 'cache_warning', message }),
          bucket,
        }).catch((e: unknown) => ({ ok: false as const, reason: 'device_failed', detail: (e as Error).message }));
        if (opened.ok) clip = opened.clip;
        else {
          emit({ type: 'problem', code: opened.reason, message: plainStartProblem(opened.reason, opened.detail) });
          emit({ type: 'model:failed' });
        }
        if (clip && !tokenizer) {
          try {
            tokenizer = await loadTokenizer(opts.coordinatorUrl);
          } catch (e) {
            emit({ type: 'problem', code: 'vocab_failed', message: `The CLIP vocabulary could not be loaded (${(e as Error).message}).` });
            emit({ type: 'model:failed' });
          }
        }
      }
    }
    if (clip) emit({ type: 'backend', info: clip.info });
    if (clip && tokenizer) jobKinds.push('url');
    client = new WorkClient({
      url: opts.coordinatorUrl,
      token: opts.token,
      kind: 'browser',
      capabilities: { jobKinds, backends: clip ? [clip.info.device] : [], features: [], maxJobs: settings.maxJobs },
      executors: { wat: createWatExecutor({ bucket, allowPrivate: PAGE_ON_PRIVATE_HOST }), url: urlExecutor() },
      userAgent: navigator.userAgent.slice(0, 300),
      onEvent: (e: WorkClientEvent) => {
        switch (e.type) {
          case 'state':
            return emit({ type: 'state', state: e.state, ...(e.detail ? { detail: e.detail } : {}) });
          case 'hello':
            return emit({ type: 'hello', volunteer: e.ack.volunteer });
          case 'job:start':
            return emit({ type: 'job:start', jobId: e.job.jobId, kind: e.job.kind });
          case 'job:progress':
            return emit({ type: 'job:progress', jobId: e.job.jobId, kind: e.job.kind, done: e.progress.done, total: e.progress.total ?? null, unit: e.progress.unit ?? '', fraction: progressFraction(e.progress) });
          case 'job:done':
            return emit({
              type: 'job:done', jobId: e.job.jobId, kind: e.job.kind, ok: e.outcome.ok, accepted: e.accepted,
              ...(e.outcome.ok ? (e.reason ? { reason: e.reason } : {}) : { reason: e.outcome.reason }),
              summary: summarise(e.job.kind, e.outcome),
            });
          case 'job:lost':
            return emit({ type: 'job:lost', jobId: e.job.jobId, kind: e.job.kind });
          case 'warning':
            return emit({ type: 'problem', code: 'warning', message: e.message });
        }
      },
    });
    client.start();
    return { ok: true };
  }

  async function stop(): Promise<void> {
    const c = client;
    client = null;
    await c?.stop({ drain: false });
  }

  return {
    start,
    stop,
    async pause() {
      await client?.pause();
    },
    async resume() {
      client?.resume();
    },
    async updateSettings(next) {
      const prev = settings;
      settings = next;
      bucket.setRate(next.bandwidthKiBps * 1024);
      if (downloads.perHost !== next.parallelDownloads) downloads = new HostSlots(next.parallelDownloads);
      if (!prev || !current || !client) return;
      if (prev.maxJobs === next.maxJobs && prev.backend === next.backend) return;
      // Capabilities are announced once per connection: reconnect with the new ones.
      const paused = client.currentState === 'paused';
      await stop();
      if (prev.backend !== next.backend && clip) {
        await clip.session.release().catch(() => {});
        clip = null;
      }
      await start({ ...current.opts, settings: next }, current.onEvent);
      if (paused) await client?.pause();
    },
  };
}
