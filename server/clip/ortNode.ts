// onnxruntime-node backend for the agent: CPU always, CUDA on linux-x64 when the host has onnxruntime's
// CUDA libraries installed (`npm i onnxruntime-node --onnxruntime-node-install=cuda12`). Without them,
// creating a CUDA session throws and the runner moves on to the next device.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Device } from '../../shared/clip/manifest.ts';
import { createClipSession, type ClipBackend, type CreateClipSessionResult } from '../../shared/clip/runner.ts';
import type { ModelDtype } from '../../shared/clip/manifest.ts';
import { dirLoader, loadManifest } from './modelStore.ts';
import { wrapOrtSession, type OrtModule } from '../../shared/clip/ortWeb.ts';

export interface OrtNodeBackendOptions {
  /** Intra-op threads (default: onnxruntime's choice, one per physical core). */
  intraOpThreads?: number;
}

export function ortNodeDevices(platform: string = process.platform, arch: string = process.arch): Device[] {
  return platform === 'linux' && arch === 'x64' ? ['cuda', 'cpu'] : ['cpu'];
}

/**
 * Whether onnxruntime-node's CUDA provider library is installed beside its binding. Checked before trying
 * CUDA so that a CPU-only host gets a clear reason instead of onnxruntime's dlopen error on stderr.
 */
export function cudaProviderInstalled(): boolean {
  try {
    const root = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin');
    return readdirSync(root).some((napi) => existsSync(join(root, napi, process.platform, process.arch, 'libonnxruntime_providers_cuda.so')));
  } catch {
    return false;
  }
}

export function createOrtNodeBackend(opts: OrtNodeBackendOptions = {}): ClipBackend {
  const devices = ortNodeDevices();
  const mod = ort as unknown as OrtModule;
  return {
    name: 'onnxruntime-node',
    devices,
    serialRuns: false,
    async createSession(model, device) {
      if (!devices.includes(device)) throw new Error(`onnxruntime-node has no '${device}' here; supported: ${devices.join(', ')}`);
      if (device === 'cuda' && !cudaProviderInstalled()) {
        throw new Error('the CUDA provider of onnxruntime-node is not installed (npm i onnxruntime-node --onnxruntime-node-install=cuda12 on a host with CUDA 12)');
      }
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [device],
        graphOptimizationLevel: 'all',
        ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
      });
      return wrapOrtSession(mod, session as never);
    },
  };
}

export interface OpenModelDirOptions extends OrtNodeBackendOptions {
  /** Default ['cuda', 'cpu']: CUDA where installed, else CPU. */
  devices?: Device[];
  dtype?: ModelDtype;
  maxBatch?: number;
}

/**
 * The agent's one call: read `dir/manifest.json`, verify the files and open a session on the first
 * device that works. A missing or invalid manifest comes back as `load_failed` with the reason in detail.
 */
export async function openModelDir(dir: string, opts: OpenModelDirOptions = {}): Promise<CreateClipSessionResult> {
  const loaded = await loadManifest(dir);
  if (!loaded.ok) return { ok: false, reason: 'load_failed', detail: `${loaded.reason}: ${loaded.detail}`, attempts: [] };
  return createClipSession({
    manifest: loaded.manifest,
    backend: createOrtNodeBackend(opts),
    devices: opts.devices ?? ['cuda', 'cpu'],
    load: dirLoader(dir),
    ...(opts.dtype ? { dtype: opts.dtype } : {}),
    ...(opts.maxBatch ? { maxBatch: opts.maxBatch } : {}),
  });
}
