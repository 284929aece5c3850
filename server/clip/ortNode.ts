// onnxruntime-node backend for the agent: CPU always, CUDA on linux-x64 when the host has onnxruntime's
// CUDA libraries installed (`npm i onnxruntime-node --onnxruntime-node-install=cuda12`). Without them,
// creating a CUDA session throws and the runner moves on to the next device.
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

export function createOrtNodeBackend(opts: OrtNodeBackendOptions = {}): ClipBackend {
  const devices = ortNodeDevices();
  const mod = ort as unknown as OrtModule;
  return {
    name: 'onnxruntime-node',
    devices,
    serialRuns: false,
    async createSession(model, device) {
      if (!devices.includes(device)) throw new Error(`onnxruntime-node has no '${device}' here; supported: ${devices.join(', ')}`);
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [device],
        graphOptimizationLevel: 'all',
        ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
      });
      return wrapOrtSession(mod, session as never);
    },
  };
}
