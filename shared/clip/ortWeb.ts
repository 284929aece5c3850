// onnxruntime-web backend: WebGPU execution provider where the browser has `navigator.gpu`, WASM always.
// The onnxruntime-web module is passed in rather than imported, so the same file serves a bundled page
// (`import * as ort from 'onnxruntime-web'`), a plain page loading dist/ort.*.mjs, a Web Worker and Node.
// In a page or worker: serve node_modules/onnxruntime-web/dist, set `ort.env.wasm.wasmPaths` to that URL,
// then `createClipSession({ manifest, backend: createOrtWebBackend(ort), devices: ['webgpu', 'wasm'],
// load: fetchLoader('/models/<id>/') })` (test/clip/browser/worker.ts does exactly this). Multi-threaded
// WASM needs cross-origin isolation (COOP/COEP); without it onnxruntime-web runs one thread.
import type * as OrtWeb from 'onnxruntime-web';
import type { Device } from './manifest.ts';
import type { BackendSession, ClipBackend, RunnerTensor, SessionValueInfo } from './runner.ts';

/** The parts of an onnxruntime module (web or node) the adapters use. */
export interface OrtModule {
  Tensor: typeof OrtWeb.Tensor;
  InferenceSession: { create(model: Uint8Array, options?: OrtWeb.InferenceSession.SessionOptions): Promise<OrtWeb.InferenceSession> };
}

function metadata(list: readonly OrtWeb.InferenceSession.ValueMetadata[] | undefined, names: readonly string[]): SessionValueInfo[] {
  if (!list || list.length === 0) return names.map((name) => ({ name }));
  return list.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: 'non-tensor' }));
}

/** Wraps an onnxruntime InferenceSession (web or node: the API is the same) as a runner BackendSession. */
export function wrapOrtSession(ort: OrtModule, session: OrtWeb.InferenceSession): BackendSession {
  return {
    inputs: metadata(session.inputMetadata, session.inputNames),
    outputs: metadata(session.outputMetadata, session.outputNames),
    async run(feeds, fetches) {
      const ortFeeds: Record<string, OrtWeb.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const result = await session.run(ortFeeds, fetches as string[]);
      const out: Record<string, RunnerTensor> = {};
      for (const [name, t] of Object.entries(result)) {
        if (t.type === 'float32') out[name] = { type: 'float32', data: t.data as Float32Array, dims: t.dims };
        else if (t.type === 'float16') out[name] = { type: 'float16', data: new Uint16Array((t.data as Uint16Array).buffer, (t.data as Uint16Array).byteOffset, t.size), dims: t.dims };
        else if (t.type === 'int64') out[name] = { type: 'int64', data: t.data as BigInt64Array, dims: t.dims };
        else throw new Error(`output '${name}' has unsupported type ${t.type}`);
      }
      return out;
    },
    release: () => session.release(),
  };
}

export interface OrtWebBackendOptions {
  /** Override the WebGPU probe (default: `navigator.gpu` exists). */
  webgpu?: boolean;
}

export function createOrtWebBackend(ort: OrtModule, opts: OrtWebBackendOptions = {}): ClipBackend {
  const hasGpu = opts.webgpu ?? (typeof navigator !== 'undefined' && 'gpu' in navigator && Boolean((navigator as { gpu?: unknown }).gpu));
  const devices: Device[] = hasGpu ? ['webgpu', 'wasm'] : ['wasm'];
  // One run at a time over all sessions of this backend; a failed run does not block the queue.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    name: 'onnxruntime-web',
    devices,
    serialRuns: true,
    serialize<T>(fn: () => Promise<T>): Promise<T> {
      const next = queue.then(fn, fn);
      queue = next.catch(() => undefined);
      return next;
    },
    async createSession(model, device) {
      if (!devices.includes(device)) throw new Error(`onnxruntime-web has no '${device}' here; supported: ${devices.join(', ')}`);
      const session = await ort.InferenceSession.create(model, { executionProviders: [device], graphOptimizationLevel: 'all' });
      return wrapOrtSession(ort, session);
    },
  };
}
