// onnxruntime-node backend for the agent: CPU always, CUDA on linux-x64 when the host has onnxruntime's
// CUDA libraries installed (`npm i onnxruntime-node --onnxruntime-node-install=cuda12`). Without them,
// creating a CUDA session throws and the runner moves on to the next device.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Device } from '../../shared/clip/manifest.ts';
import type { ClipBackend } from '../../shared/clip/runner.ts';
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
