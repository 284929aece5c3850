// The model comes from the coordinator (`GET /api/model` -> { manifest, hash, filesBase }), each file is
// downloaded once with progress, checked against the manifest's sha256 and kept in the ModelCache; a later
// visit reads it back from there. Files of an older manifest are deleted once a new one is seen.
import { parseManifest, sha256Hex, type ClipManifest, type OnnxFile } from '../../shared/clip/manifest.ts';
import type { FileLoader } from '../../shared/clip/runner.ts';
import type { ModelPhase } from './api.ts';
import type { ByteBucket } from './limits.ts';
import type { ModelCache } from './modelCache.ts';

export interface ActiveModel {
  manifest: ClipManifest;
  /** manifestHash of the whole manifest, as the coordinator computed it. */
  hash: string;
  /** Files are at filesBase + file.path (absolute path or URL). */
  filesBase: string;
}

export type ActiveModelResult =
  | { ok: true; model: ActiveModel }
  | { ok: false; reason: 'no_model' | 'bad_manifest' | 'unreachable' | 'http_error'; detail: string };

export async function fetchActiveModel(baseUrl: string, fetchFn: typeof fetch = fetch, signal?: AbortSignal): Promise<ActiveModelResult> {
  let res: Response;
  try {
    res = await fetchFn(new URL('/api/model', baseUrl).toString(), { signal, cache: 'no-store' });
  } catch (e) {
    return { ok: false, reason: 'unreachable', detail: (e as Error).message };
  }
  if (res.status === 404) {
    await res.body?.cancel();
    return { ok: false, reason: 'no_model', detail: 'the coordinator has no active model' };
  }
  if (!res.ok) {
    await res.body?.cancel();
    return { ok: false, reason: 'http_error', detail: `GET /api/model: HTTP ${res.status}` };
  }
  let body: { manifest?: unknown; hash?: unknown; filesBase?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch (e) {
    return { ok: false, reason: 'bad_manifest', detail: `not JSON: ${(e as Error).message}` };
  }
  const parsed = parseManifest(body.manifest);
  if (!parsed.ok) return { ok: false, reason: 'bad_manifest', detail: parsed.detail };
  if (typeof body.hash !== 'string' || typeof body.filesBase !== 'string') return { ok: false, reason: 'bad_manifest', detail: 'hash or filesBase missing' };
  const filesBase = body.filesBase.endsWith('/') ? body.filesBase : `${body.filesBase}/`;
  return { ok: true, model: { manifest: parsed.manifest, hash: body.hash, filesBase: new URL(filesBase, baseUrl).toString() } };
}

export interface ModelProgress {
  phase: ModelPhase;
  file: string;
  loadedBytes: number;
  totalBytes: number;
  fromCache: boolean;
}

export interface CachedLoaderOptions {
  filesBase: string;
  cache: ModelCache | null;
  fetchFn?: typeof fetch;
  onProgress?: (p: ModelProgress) => void;
  /** Called when the cache could not be read or written (the load goes on without it). */
  onWarning?: (message: string) => void;
  /** The tab's bandwidth cap applies to the model download too. */
  bucket?: ByteBucket | null;
  /** Least milliseconds between two `progress` reports of one file. Default 100. */
  progressEveryMs?: number;
  signal?: AbortSignal;
}

/**
 * A FileLoader for the CLIP runner: cache first, then the coordinator. Every byte it returns has been checked
 * against the manifest's sha256 (so the runner may skip its own check); a cached copy that fails the check is
 * deleted and downloaded again.
 */
export function cachedFileLoader(opts: CachedLoaderOptions): FileLoader {
  const fetchFn = opts.fetchFn ?? fetch;
  const everyMs = opts.progressEveryMs ?? 100;
  const report = (p: ModelProgress) => opts.onProgress?.(p);
  return async (file: OnnxFile) => {
    report({ phase: 'initiate', file: file.path, loadedBytes: 0, totalBytes: file.bytes, fromCache: false });
    if (opts.cache) {
      try {
        const hit = await opts.cache.match(file.sha256);
        if (hit) {
          if (hit.byteLength === file.bytes && (await sha256Hex(hit)) === file.sha256) {
            report({ phase: 'done', file: file.path, loadedBytes: hit.byteLength, totalBytes: file.bytes, fromCache: true });
            return { ok: true, bytes: hit };
          }
          opts.onWarning?.(`cached ${file.path} is damaged; downloading it again`);
          await opts.cache.delete(file.sha256);
        }
      } catch (e) {
        opts.onWarning?.(`could not read the model cache: ${(e as Error).message}`);
      }
    }
    const url = new URL(file.path, opts.filesBase).toString();
    let res: Response;
    try {
      // Not through the HTTP cache: the ModelCache keeps the verified bytes (no second copy), and a model
      // file's URL names its path, not its content, so a cached answer may belong to an older model.
      res = await fetchFn(url, { signal: opts.signal, cache: 'no-store' });
    } catch (e) {
      return { ok: false, reason: 'load_failed', detail: `${url}: ${(e as Error).message}` };
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return { ok: false, reason: 'load_failed', detail: `${url}: HTTP ${res.status}` };
    }
    report({ phase: 'download', file: file.path, loadedBytes: 0, totalBytes: file.bytes, fromCache: false });
    // The manifest says how big the file is: anything longer is not the file we want.
    const bytes = new Uint8Array(file.bytes);
    let loaded = 0;
    let lastReportMs = 0;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (loaded + value.byteLength > file.bytes) {
          await reader.cancel();
          return { ok: false, reason: 'load_failed', detail: `${url}: more than the ${file.bytes} bytes the manifest says` };
        }
        bytes.set(value, loaded);
        loaded += value.byteLength;
        if (opts.bucket) await opts.bucket.take(value.byteLength, opts.signal);
        const now = performance.now();
        if (now - lastReportMs >= everyMs) {
          lastReportMs = now;
          report({ phase: 'progress', file: file.path, loadedBytes: loaded, totalBytes: file.bytes, fromCache: false });
        }
      }
    } catch (e) {
      return { ok: false, reason: 'load_failed', detail: `${url}: ${(e as Error).message}` };
    }
    if (loaded !== file.bytes) return { ok: false, reason: 'load_failed', detail: `${url}: got ${loaded} of ${file.bytes} bytes` };
    const digest = await sha256Hex(bytes);
    if (digest !== file.sha256) return { ok: false, reason: 'load_failed', detail: `${url}: sha256 ${digest}, manifest says ${file.sha256}` };
    if (opts.cache) {
      try {
        await opts.cache.put(file.sha256, bytes);
      } catch (e) {
        opts.onWarning?.(`could not keep ${file.path} for the next visit: ${(e as Error).message}`);
      }
    }
    report({ phase: 'done', file: file.path, loadedBytes: loaded, totalBytes: file.bytes, fromCache: false });
    return { ok: true, bytes };
  };
}

/** Deletes cached files that the current manifest no longer lists (a new model replaced them). */
export async function pruneModelCache(cache: ModelCache, manifest: ClipManifest): Promise<string[]> {
  const keep = new Set(manifest.variants.flatMap((v) => [v.vision.sha256, v.text.sha256]));
  const removed: string[] = [];
  for (const key of await cache.keys()) {
    if (!keep.has(key)) {
      await cache.delete(key);
      removed.push(key);
    }
  }
  return removed;
}
