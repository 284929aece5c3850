// Backend-agnostic CLIP runner: picks the first requested device that works, checks the model signature
// against the manifest at load time, batches inputs, L2-normalises embeddings and scores pairs.
// Backends (onnxruntime-node in server/clip/ortNode.ts, onnxruntime-web in shared/clip/ortWeb.ts) only
// create sessions and run them; everything else lives here so both sides behave the same.
import { sha256Hex, modelHash, pickVariant, DEVICES, type ClipManifest, type Device, type ModelDtype, type ModelVariant, type OnnxFile, type TensorSpec } from './manifest.ts';
import { fromFloat16, keepPair, l2NormalizeRows, pairSimilarities, toFloat16 } from './score.ts';

export type RunnerTensor =
  | { type: 'float32'; data: Float32Array; dims: readonly number[] }
  /** IEEE binary16 bits (exports whose pixel_values or embeddings are float16). */
  | { type: 'float16'; data: Uint16Array; dims: readonly number[] }
  | { type: 'int64'; data: BigInt64Array; dims: readonly number[] };

/** What a backend reports about a loaded graph input or output. */
export interface SessionValueInfo {
  name: string;
  /** onnxruntime type name (`float32`, `int64`, ...) or undefined where the runtime does not say. */
  type?: string;
  shape?: readonly (number | string)[];
}

export interface BackendSession {
  readonly inputs: readonly SessionValueInfo[];
  readonly outputs: readonly SessionValueInfo[];
  /** Runs the graph; throws on runtime failure (the runner turns that into an error value). */
  run(feeds: Record<string, RunnerTensor>, fetches: readonly string[]): Promise<Record<string, RunnerTensor>>;
  release(): Promise<void>;
}

export interface ClipBackend {
  /** `onnxruntime-node`, `onnxruntime-web`. */
  readonly name: string;
  /** Devices this backend can offer in this environment, best first. */
  readonly devices: readonly Device[];
  /**
   * Runs one session at a time across every session this backend created (onnxruntime-web, as
   * transformers.js does: concurrent runs on one WASM instance or GPU device are not safe).
   */
  readonly serialRuns: boolean;
  /** The backend's own run queue when `serialRuns` (the runner queues through it; created per backend, not global). */
  serialize?<T>(fn: () => Promise<T>): Promise<T>;
  /** Creates a session on exactly this device, or throws (no silent fallback). */
  createSession(model: Uint8Array, device: Device): Promise<BackendSession>;
}

export type ClipFailureReason =
  | 'unsupported_device' // the backend does not offer this device here (detail lists those it does)
  | 'device_failed' // the runtime could not create a session on the device
  | 'load_failed' // the model file could not be read or downloaded
  | 'sha256_mismatch' // bytes or digest differ from the manifest: refuse to run
  | 'wrong_signature' // graph inputs/outputs differ from the manifest
  | 'bad_image_batch' // pixel batch length is not a multiple of 3*S*S
  | 'bad_text_length' // a row of token ids is not exactly contextLength long
  | 'bad_token_id' // a token id outside [0, 49408)
  | 'bad_output' // the model returned an embedding of the wrong shape
  | 'run_failed' // the runtime threw while running
  | 'released'; // the session was released

export interface ClipFailure {
  ok: false;
  reason: ClipFailureReason;
  detail: string;
}

export interface DeviceAttempt {
  device: Device;
  ok: boolean;
  dtype?: ModelDtype;
  reason?: ClipFailureReason;
  detail?: string;
}

export type FileLoadResult = { ok: true; bytes: Uint8Array } | { ok: false; reason: 'load_failed'; detail: string };
/** Reads or downloads one ONNX file of the manifest (the runner verifies its sha256). */
export type FileLoader = (file: OnnxFile) => Promise<FileLoadResult>;

export interface CreateClipSessionOptions {
  manifest: ClipManifest;
  backend: ClipBackend;
  /** Ordered preference, e.g. ['webgpu', 'wasm'] or ['cuda', 'cpu']; the first that works is used. */
  devices: readonly Device[];
  load: FileLoader;
  /** Force a dtype first (falls back to the device's preference when absent). */
  dtype?: ModelDtype;
  /**
   * Largest batch handed to the runtime at once; bigger inputs are split. Default 32. fp32 results do not
   * depend on the batch; q8 ones do (DynamicQuantizeLinear has one scale per batch tensor, as in the
   * public exports): ~0.004 per component, below 0.01 in similarity. Set 1 where a q8 embedding must not
   * depend on its neighbours (at a throughput cost).
   */
  maxBatch?: number;
  /** Skip sha256 verification (only for files the caller has just verified itself). Default false. */
  skipVerify?: boolean;
}

export interface Embeddings {
  ok: true;
  /** Row-major [count, dim], each row L2-normalised. */
  embeddings: Float32Array;
  count: number;
  dim: number;
}

export type EmbedResult = Embeddings | ClipFailure;

export interface ClipSession {
  readonly backend: string;
  readonly device: Device;
  readonly variant: ModelVariant;
  /** Every device tried, in order, with the reason it was not used. */
  readonly attempts: readonly DeviceAttempt[];
  readonly manifest: ClipManifest;
  /** Record this with every result (see manifest.ts `modelHash`). */
  readonly modelHash: string;
  /** `pixels` is [n, 3, S, S] float32, preprocessed with the manifest's size/mean/std. n = 0 gives an empty result. */
  embedImages(pixels: Float32Array): Promise<EmbedResult>;
  /** Rows of exactly `contextLength` token ids (start token, ..., end token, padding), or a flat [n * contextLength] array. */
  embedTexts(ids: readonly (readonly number[])[] | Int32Array | BigInt64Array): Promise<EmbedResult>;
  /** Cosine similarity of image row i with text row i (both from this session, so normalised). */
  score(images: Float32Array, texts: Float32Array): Float32Array;
  /** Keep/drop by the manifest threshold. */
  keep(similarity: number): boolean;
  release(): Promise<void>;
}

export type CreateClipSessionResult = ({ ok: true } & { session: ClipSession }) | (ClipFailure & { attempts: DeviceAttempt[] });

const MAX_TOKEN_ID = 49407;

function fail(reason: ClipFailureReason, detail: string): ClipFailure {
  return { ok: false, reason, detail };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Compares what the runtime loaded with what the manifest promises; null when they agree. */
export function checkSignature(file: OnnxFile, session: Pick<BackendSession, 'inputs' | 'outputs'>): string | null {
  const problems: string[] = [];
  const compare = (kind: 'input' | 'output', want: TensorSpec, got: SessionValueInfo | undefined) => {
    if (!got) {
      problems.push(`${kind} '${want.name}' missing`);
      return;
    }
    if (got.type !== undefined && got.type !== want.dtype) problems.push(`${kind} '${want.name}' is ${got.type}, manifest says ${want.dtype}`);
    if (got.shape !== undefined && got.shape.length > 0) {
      if (got.shape.length !== want.shape.length) {
        problems.push(`${kind} '${want.name}' has rank ${got.shape.length}, manifest says ${want.shape.length}`);
      } else {
        got.shape.forEach((d, i) => {
          const w = want.shape[i];
          if (typeof d === 'number' && typeof w === 'number' && d !== w) problems.push(`${kind} '${want.name}' dim ${i} is ${d}, manifest says ${w}`);
        });
      }
    }
  };
  for (const want of file.inputs) compare('input', want, session.inputs.find((s) => s.name === want.name));
  for (const want of file.outputs) compare('output', want, session.outputs.find((s) => s.name === want.name));
  const known = new Set(file.inputs.map((i) => i.name));
  for (const got of session.inputs) if (!known.has(got.name)) problems.push(`model needs input '${got.name}' the manifest does not name`);
  return problems.length ? `${file.path}: ${problems.join('; ')}` : null;
}

async function verifyBytes(file: OnnxFile, bytes: Uint8Array): Promise<string | null> {
  if (bytes.byteLength !== file.bytes) return `${file.path}: ${bytes.byteLength} bytes, manifest says ${file.bytes}`;
  const digest = await sha256Hex(bytes);
  return digest === file.sha256 ? null : `${file.path}: sha256 ${digest}, manifest says ${file.sha256}`;
}

/**
 * Opens the vision and text sessions on the first device in `devices` that works. Never throws for
 * runtime or file problems: the failure value carries every attempt.
 */
export async function createClipSession(opts: CreateClipSessionOptions): Promise<CreateClipSessionResult> {
  const { manifest, backend } = opts;
  const attempts: DeviceAttempt[] = [];
  const verified = new Map<string, Uint8Array>();

  const loadVerified = async (file: OnnxFile): Promise<{ ok: true; bytes: Uint8Array } | ClipFailure> => {
    const cached = verified.get(file.path);
    if (cached) return { ok: true, bytes: cached };
    let loaded: FileLoadResult;
    try {
      loaded = await opts.load(file);
    } catch (e) {
      loaded = { ok: false, reason: 'load_failed', detail: `${file.path}: ${errorText(e)}` };
    }
    if (!loaded.ok) return fail('load_failed', loaded.detail);
    if (!opts.skipVerify) {
      const problem = await verifyBytes(file, loaded.bytes);
      if (problem) return fail('sha256_mismatch', problem);
    }
    verified.set(file.path, loaded.bytes);
    return { ok: true, bytes: loaded.bytes };
  };

  for (const device of opts.devices) {
    if (!(DEVICES as readonly string[]).includes(device) || !backend.devices.includes(device)) {
      attempts.push({ device, ok: false, reason: 'unsupported_device', detail: `${backend.name} does not offer '${device}' here; supported: ${backend.devices.join(', ')}` });
      continue;
    }
    const variant = pickVariant(manifest, device, opts.dtype);
    const sessions: BackendSession[] = [];
    const attempt = async (): Promise<ClipFailure | null> => {
      for (const file of [variant.vision, variant.text]) {
        const bytes = await loadVerified(file);
        if (!bytes.ok) return bytes;
        let s: BackendSession;
        try {
          s = await backend.createSession(bytes.bytes, device);
        } catch (e) {
          return fail('device_failed', `${backend.name} on ${device}: ${errorText(e)}`);
        }
        sessions.push(s);
        const problem = checkSignature(file, s);
        if (problem) return fail('wrong_signature', problem);
      }
      return null;
    };
    const problem = await attempt();
    if (problem) {
      attempts.push({ device, ok: false, dtype: variant.dtype, reason: problem.reason, detail: problem.detail });
      await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
      // A file that fails its checksum or signature fails on every device: stop here.
      if (problem.reason === 'sha256_mismatch' || problem.reason === 'wrong_signature' || problem.reason === 'load_failed') {
        return { ...problem, attempts };
      }
      continue;
    }
    attempts.push({ device, ok: true, dtype: variant.dtype });
    const [vision, text] = sessions as [BackendSession, BackendSession];
    const hash = await modelHash(manifest, variant.dtype);
    return { ok: true, session: makeSession({ manifest, backend, device, variant, attempts, hash, vision, text, maxBatch: opts.maxBatch ?? 32 }) };
  }
  const real = attempts.filter((a) => a.reason !== 'unsupported_device');
  const last = real[real.length - 1] ?? attempts[attempts.length - 1];
  const reason = last?.reason ?? 'unsupported_device';
  const detail = attempts.length ? attempts.map((a) => `${a.device}: ${a.detail ?? a.reason}`).join(' | ') : `no devices requested; ${backend.name} supports ${backend.devices.join(', ')}`;
  return { ok: false, reason, detail, attempts };
}

interface SessionParts {
  manifest: ClipManifest;
  backend: ClipBackend;
  device: Device;
  variant: ModelVariant;
  attempts: DeviceAttempt[];
  hash: string;
  vision: BackendSession;
  text: BackendSession;
  maxBatch: number;
}

function makeSession(p: SessionParts): ClipSession {
  const { manifest, variant } = p;
  const S = manifest.imageSize;
  const L = manifest.contextLength;
  const D = manifest.embeddingSize;
  const pixelsPerImage = 3 * S * S;
  let released = false;
  // Runs still in flight, so release() waits for them; queuing itself is the backend's (one per backend).
  const inFlight = new Set<Promise<unknown>>();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = p.backend.serialRuns && p.backend.serialize ? p.backend.serialize(fn) : fn();
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run)).catch(() => undefined);
    return run;
  };

  const runBatches = async (
    session: BackendSession,
    file: OnnxFile,
    count: number,
    feedsFor: (start: number, n: number) => Record<string, RunnerTensor>,
  ): Promise<EmbedResult> => {
    if (released) return fail('released', 'the session was released');
    const out = new Float32Array(count * D);
    const output = file.outputs[0]!.name;
    for (let start = 0; start < count; start += p.maxBatch) {
      const n = Math.min(p.maxBatch, count - start);
      let result: Record<string, RunnerTensor>;
      try {
        result = await serial(() => session.run(feedsFor(start, n), [output]));
      } catch (e) {
        return fail('run_failed', `${file.path}: ${errorText(e)}`);
      }
      const t = result[output];
      const values = t?.type === 'float32' ? t.data : t?.type === 'float16' ? fromFloat16(t.data) : undefined;
      if (!t || !values || values.length !== n * D) {
        return fail('bad_output', `${file.path}: '${output}' came back as ${t ? `${t.type} [${t.dims.join(', ')}]` : 'nothing'}, expected float [${n}, ${D}]`);
      }
      // NaN/Infinity (from NaN pixels, or an fp16 overflow) would score as "drop" silently: refuse instead.
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) return fail('bad_output', `${file.path}: item ${start + Math.floor(bad / D)} has a non-finite embedding (${values[bad]})`);
      out.set(l2NormalizeRows(values, D), start * D);
    }
    return { ok: true, embeddings: out, count, dim: D };
  };

  return {
    backend: p.backend.name,
    device: p.device,
    variant,
    attempts: p.attempts,
    manifest,
    modelHash: p.hash,

    async embedImages(pixels) {
      if (pixels.length % pixelsPerImage !== 0) {
        return fail('bad_image_batch', `${pixels.length} values is not a whole number of 3x${S}x${S} images`);
      }
      const count = pixels.length / pixelsPerImage;
      const input = variant.vision.inputs[0]!;
      return runBatches(p.vision, variant.vision, count, (start, n) => {
        const data = pixels.subarray(start * pixelsPerImage, (start + n) * pixelsPerImage);
        const dims = [n, 3, S, S];
        return { [input.name]: input.dtype === 'float16' ? { type: 'float16', data: toFloat16(data), dims } : { type: 'float32', data, dims } };
      });
    },

    async embedTexts(ids) {
      let flat: BigInt64Array;
      if (ids instanceof BigInt64Array || ids instanceof Int32Array) {
        if (ids.length % L !== 0) return fail('bad_text_length', `${ids.length} ids is not a whole number of rows of ${L}`);
        flat = ids instanceof BigInt64Array ? ids : BigInt64Array.from(ids, (v) => BigInt(v));
      } else {
        flat = new BigInt64Array(ids.length * L);
        for (let r = 0; r < ids.length; r++) {
          const row = ids[r]!;
          if (row.length !== L) return fail('bad_text_length', `row ${r} has ${row.length} token ids, the model takes exactly ${L} (pad or truncate keeping the end token)`);
          for (let c = 0; c < L; c++) {
            const v = row[c]!;
            if (!Number.isInteger(v)) return fail('bad_token_id', `row ${r} position ${c}: ${v} is not an integer`);
            flat[r * L + c] = BigInt(v);
          }
        }
      }
      for (let i = 0; i < flat.length; i++) {
        const v = flat[i]!;
        if (v < 0n || v > BigInt(MAX_TOKEN_ID)) return fail('bad_token_id', `row ${Math.floor(i / L)} position ${i % L}: id ${v} outside [0, ${MAX_TOKEN_ID}]`);
      }
      const count = flat.length / L;
      const inputIds = variant.text.inputs[0]!.name;
      const wantsMask = variant.text.inputs.some((i) => i.name === 'attention_mask');
      return runBatches(p.text, variant.text, count, (start, n) => {
        const slice = flat.subarray(start * L, (start + n) * L);
        const feeds: Record<string, RunnerTensor> = { [inputIds]: { type: 'int64', data: slice, dims: [n, L] } };
        if (wantsMask) feeds.attention_mask = { type: 'int64', data: attentionMask(slice, L), dims: [n, L] };
        return feeds;
      });
    },

    score(images, texts) {
      return pairSimilarities(images, texts, D);
    },

    keep(similarity) {
      return keepPair(similarity, manifest.threshold);
    },

    async release() {
      if (released) return;
      released = true;
      await Promise.allSettled([...inFlight]);
      await Promise.all([p.vision.release(), p.text.release()]);
    },
  };
}

/** 1 up to and including the first end token of each row, 0 after it (for exports that take a mask). */
export function attentionMask(ids: BigInt64Array, contextLength: number): BigInt64Array {
  const mask = new BigInt64Array(ids.length);
  for (let r = 0; r < ids.length / contextLength; r++) {
    for (let c = 0; c < contextLength; c++) {
      mask[r * contextLength + c] = 1n;
      if (ids[r * contextLength + c] === BigInt(MAX_TOKEN_ID)) break;
    }
  }
  return mask;
}

/** A FileLoader over files already in memory, keyed by manifest path. */
export function bytesLoader(files: Readonly<Record<string, Uint8Array>>): FileLoader {
  return async (file) => {
    const bytes = files[file.path];
    return bytes ? { ok: true, bytes } : { ok: false, reason: 'load_failed', detail: `${file.path}: not among the ${Object.keys(files).length} files given` };
  };
}

/**
 * A FileLoader that downloads `file.path` relative to `baseUrl` (the coordinator's model route, e.g.
 * `/models/clip-vit-b-32/`), for pages and workers. Caching (idb / Cache API) belongs to the caller, who
 * can wrap this loader; the runner checks sha256 whatever the source.
 */
export function fetchLoader(baseUrl: string, fetchImpl: typeof fetch = fetch): FileLoader {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return async (file) => {
    try {
      const res = await fetchImpl(base + file.path);
      if (!res.ok) return { ok: false, reason: 'load_failed', detail: `${base}${file.path}: HTTP ${res.status}` };
      return { ok: true, bytes: new Uint8Array(await res.arrayBuffer()) };
    } catch (e) {
      return { ok: false, reason: 'load_failed', detail: `${base}${file.path}: ${errorText(e)}` };
    }
  };
}
