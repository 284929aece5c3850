// The agent's copy of the coordinator's active model: the manifest from GET /api/model, the ONNX files
// downloaded once into a cache directory named by their sha256 (verified before use), then an
// onnxruntime-node session on the best device this host has.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { manifestHash, parseManifest, type Device, type ModelDtype } from '../../shared/clip/manifest.ts';
import { createClipSession, type ClipSession, type FileLoader } from '../../shared/clip/runner.ts';
import { createOrtNodeBackend } from '../clip/ortNode.ts';

export interface LoadedModel {
  session: ClipSession;
  /** sha256 of the whole manifest: what URL jobs name. */
  manifestHash: string;
}

export type ModelLoad = { ok: true; model: LoadedModel } | { ok: false; reason: string; detail: string };

export function defaultModelCacheDir(env = process.env): string {
  return env.CRAWLSWARM_CACHE_DIR ? join(env.CRAWLSWARM_CACHE_DIR, 'models') : join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'crawlswarm', 'models');
}

/** Downloads `url` to `path` while hashing; keeps it only when the sha256 matches. */
async function download(url: string, path: string, sha256: string): Promise<{ ok: true } | { ok: false; detail: string }> {
  const res = await fetch(url).catch((err: Error) => err);
  if (res instanceof Error || !res.ok || !res.body) return { ok: false, detail: `GET ${url}: ${res instanceof Error ? res.message : `HTTP ${res.status}`}` };
  const tmp = `${path}.${process.pid}.part`;
  const fh = await open(tmp, 'w');
  const hash = createHash('sha256');
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
  const got = hash.digest('hex');
  if (got !== sha256) {
    await rm(tmp, { force: true });
    return { ok: false, detail: `${url}: sha256 ${got}, the manifest says ${sha256}` };
  }
  await rename(tmp, path);
  return { ok: true };
}

export async function loadCoordinatorModel(
  server: string,
  /** `keep`: the model this agent has; returned as it is when the coordinator still serves it. */
  opts: { cacheDir?: string; devices?: Device[]; intraOpThreads?: number; keep?: LoadedModel; dtype?: ModelDtype } = {},
): Promise<ModelLoad> {
  const res = await fetch(new URL('/api/model', server)).catch((err: Error) => err);
  if (res instanceof Error) return { ok: false, reason: 'model_unavailable', detail: `GET /api/model: ${res.message}` };
  const body = (await res.json().catch(() => null)) as { manifest?: unknown; filesBase?: string; detail?: string } | null;
  if (!res.ok || !body) return { ok: false, reason: 'model_unavailable', detail: `GET /api/model: HTTP ${res.status} ${body?.detail ?? ''}` };
  const parsed = parseManifest(body.manifest);
  if (!parsed.ok) return { ok: false, reason: 'bad_manifest', detail: parsed.detail };
  const manifest = parsed.manifest;
  const hash = await manifestHash(manifest);
  if (opts.keep?.manifestHash === hash) return { ok: true, model: opts.keep };
  const cacheDir = opts.cacheDir ?? defaultModelCacheDir();
  await mkdir(cacheDir, { recursive: true });
  const load: FileLoader = async (file) => {
    const path = join(cacheDir, `${file.sha256}.onnx`);
    let bytes = await readFile(path).catch(() => null);
    if (!bytes) {
      const d = await download(new URL(`${body.filesBase ?? `/models/${manifest.id}/`}${file.path}`, server).toString(), path, file.sha256);
      if (!d.ok) return { ok: false, reason: 'load_failed', detail: d.detail };
      bytes = await readFile(path);
    }
    return { ok: true, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  };
  const backend = createOrtNodeBackend({ intraOpThreads: opts.intraOpThreads });
  const created = await createClipSession({ manifest, backend, devices: opts.devices ?? backend.devices, load, ...(opts.dtype ? { dtype: opts.dtype } : {}) });
  if (!created.ok) return { ok: false, reason: created.reason, detail: created.detail };
  return { ok: true, model: { session: created.session, manifestHash: hash } };
}
