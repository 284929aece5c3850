// Loads onnxruntime-web (copied next to the page at /ort/ by the build, imported at run time only after
// Start), the CLIP tokenizer and the active model, and opens a session on the volunteer's backend choice.
import type * as OrtWeb from 'onnxruntime-web';
import { createOrtWebBackend, type OrtModule } from '../../shared/clip/ortWeb.ts';
import type { Device } from '../../shared/clip/manifest.ts';
import { createClipSession, type ClipSession } from '../../shared/clip/runner.ts';
import type { ClipTokenizer } from '../../shared/clip/tokenizer.ts';
import { clipTokenizerFromGzip } from '../../shared/clip/tokenizer/vocabFile.ts';
import type { BackendChoice, BackendInfo } from './api.ts';
import type { ByteBucket } from './limits.ts';
import type { ModelCache } from './modelCache.ts';
import { cachedFileLoader, pruneModelCache, type ActiveModel, type ModelProgress } from './modelLoader.ts';

export const ORT_BASE = '/ort/';
export const VOCAB_PATH = '/clip/bpe_simple_vocab_16e6.txt.gz';

type OrtWithEnv = OrtModule & { env: typeof OrtWeb.env };

/** Threads for onnxruntime's WASM backend: the volunteer's choice, or cores - 1 (at most 4) so that a core stays
 * free for the page. Threads need cross-origin isolation (the coordinator sends COOP/COEP). */
export function wasmThreadCount(requested: number, cores: number, isolated: boolean): number {
  if (!isolated) return 1;
  if (requested > 0) return Math.max(1, Math.min(requested, cores));
  return Math.max(1, Math.min(4, cores - 1));
}

/** onnxruntime-web reads numThreads when its WASM starts (the first session); later changes have no effect. */
export async function importOrt(origin: string, threads: number): Promise<OrtWithEnv> {
  const url = new URL(`${ORT_BASE}ort.min.mjs`, origin).toString();
  const ort = (await import(/* @vite-ignore */ url)) as OrtWithEnv;
  ort.env.wasm.wasmPaths = new URL(ORT_BASE, origin).toString();
  const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency || 2 : 2;
  ort.env.wasm.numThreads = wasmThreadCount(threads, cores, Boolean(globalThis.crossOriginIsolated));
  ort.env.logLevel = 'error';
  return ort;
}

/** A short description of the WebGPU adapter, or null when the browser has none. */
export async function describeWebGpuAdapter(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return null;
  try {
    const adapter = (await gpu.requestAdapter()) as null | { info?: Record<string, string>; isFallbackAdapter?: boolean };
    if (!adapter) return null;
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
    const fallback = adapter.isFallbackAdapter || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter;
    return fallback ? `${name} (software fallback)` : name;
  } catch {
    return null;
  }
}

export function devicesFor(choice: BackendChoice, webgpuAvailable: boolean): Device[] {
  if (choice === 'wasm') return ['wasm'];
  if (choice === 'webgpu') return webgpuAvailable ? ['webgpu'] : [];
  return webgpuAvailable ? ['webgpu', 'wasm'] : ['wasm'];
}

export async function loadTokenizer(origin: string, fetchFn: typeof fetch = fetch): Promise<ClipTokenizer> {
  const res = await fetchFn(new URL(VOCAB_PATH, origin).toString());
  if (!res.ok) throw new Error(`CLIP vocabulary: HTTP ${res.status}`);
  const r = await clipTokenizerFromGzip(new Uint8Array(await res.arrayBuffer()));
  if (!r.ok) throw new Error(`CLIP vocabulary: ${r.reason}: ${r.detail}`);
  return r.tokenizer;
}

function threadsText(n: number): string {
  return n === 1 ? '1 thread' : `${n} threads`;
}

export interface OpenedClip {
  session: ClipSession;
  info: BackendInfo;
}

export async function openClip(opts: {
  origin: string;
  model: ActiveModel;
  choice: BackendChoice;
  wasmThreads: number;
  cache: ModelCache | null;
  onProgress: (p: ModelProgress) => void;
  onWarning: (message: string) => void;
  bucket: ByteBucket | null;
}): Promise<{ ok: true; clip: OpenedClip } | { ok: false; reason: string; detail: string }> {
  const ort = await importOrt(opts.origin, opts.wasmThreads);
  const adapter = await describeWebGpuAdapter();
  const devices = devicesFor(opts.choice, adapter !== null);
  if (devices.length === 0) return { ok: false, reason: 'no_webgpu', detail: 'WebGPU was chosen but this browser offers no WebGPU adapter' };
  // onnxruntime's native log defaults to warnings, which it writes with console.error (node placement notes);
  // keep only real errors so the page's console stays clean.
  const quiet: OrtModule = {
    Tensor: ort.Tensor,
    InferenceSession: { create: (model, options) => ort.InferenceSession.create(model, { ...options, logSeverityLevel: 3 }) },
  };
  const backend = createOrtWebBackend(quiet, { webgpu: adapter !== null });
  if (opts.cache) {
    try {
      await pruneModelCache(opts.cache, opts.model.manifest);
    } catch (e) {
      opts.onWarning(`could not tidy the model cache: ${(e as Error).message}`);
    }
  }
  const load = cachedFileLoader({ filesBase: opts.model.filesBase, cache: opts.cache, bucket: opts.bucket, onProgress: opts.onProgress, onWarning: opts.onWarning });
  const r = await createClipSession({ manifest: opts.model.manifest, backend, devices, load, skipVerify: true });
  if (!r.ok) return { ok: false, reason: r.reason, detail: r.detail };
  const session = r.session;
  const info: BackendInfo = {
    device: session.device as 'webgpu' | 'wasm',
    adapter: session.device === 'webgpu' ? (adapter ?? 'WebGPU') : `WASM, ${threadsText(ort.env.wasm.numThreads ?? 1)}${globalThis.crossOriginIsolated ? '' : ' (page not cross-origin isolated)'}`,
    dtype: session.variant.dtype,
    modelId: opts.model.manifest.id,
    threshold: opts.model.manifest.threshold,
    attempts: session.attempts.map((a) => ({ device: a.device, ok: a.ok, ...(a.reason ? { reason: a.reason } : {}), ...(a.detail ? { detail: a.detail.slice(0, 300) } : {}) })),
  };
  return { ok: true, clip: { session, info } };
}
