// What the page and the Web Worker say to each other (through comlink). The page only displays; the worker
// owns the connection, the jobs, the model and every fetch. Events are plain data (structured-clonable).
import type { WorkClientState } from '../../shared/client/workClient.ts';
import type { UrlStatus } from '../../shared/image/status.ts';

export type BackendChoice = 'auto' | 'webgpu' | 'wasm';

export interface WorkerSettings {
  /** Jobs run at once (the scheduler never leases more). */
  maxJobs: number;
  /** Images downloaded at once inside a URL job (per-host limit stays 2 whatever this says). */
  parallelDownloads: number;
  /** Download cap over every fetch of this tab, kibibytes per second; 0 = no cap. */
  bandwidthKiBps: number;
  /** Where to run CLIP: 'auto' tries WebGPU, then WASM. */
  backend: BackendChoice;
  /** WASM threads for CLIP; 0 = automatic (cores - 1, at most 4). Fixed once onnxruntime has started: the page
   * restarts the worker to change it. */
  wasmThreads: number;
}

export interface StartOptions {
  /** The coordinator's origin (the page's own). */
  coordinatorUrl: string;
  token: string;
  settings: WorkerSettings;
}

/** Progress statuses of a model file, fixed (STYLE.md item 12). */
export type ModelPhase = 'initiate' | 'download' | 'progress' | 'done';

export interface BackendInfo {
  device: 'webgpu' | 'wasm';
  /** WebGPU adapter description (vendor, architecture, fallback) or 'WASM, N threads'. */
  adapter: string;
  dtype: string;
  modelId: string;
  /** The manifest's keep threshold (drawn on the histogram). */
  threshold: number;
  /** Devices tried before this one, with the reason each was not used. */
  attempts: { device: string; ok: boolean; reason?: string; detail?: string }[];
}

export type UrlJobSummary = {
  kind: 'url';
  counts: Partial<Record<UrlStatus, number>>;
  kept: number;
  /** Similarities of the images scored in this job (status ok). */
  similarities: number[];
};
export type WatJobSummary = { kind: 'wat'; candidates: number; records: number; damaged: boolean };
export type JobSummary = UrlJobSummary | WatJobSummary | { kind: 'other' };

export type PageEvent =
  | { type: 'state'; state: WorkClientState; detail?: string }
  | { type: 'hello'; volunteer: { id: number; nickname: string; team: string | null } }
  | { type: 'backend'; info: BackendInfo }
  | { type: 'model'; phase: ModelPhase; file: string; loadedBytes: number; totalBytes: number; fromCache: boolean }
  /** CLIP could not be started (the reason comes as a `problem`): this tab takes WAT jobs only. */
  | { type: 'model:failed' }
  | { type: 'job:start'; jobId: string; kind: string }
  | { type: 'job:progress'; jobId: string; kind: string; done: number; total: number | null; unit: string; fraction: number | null }
  | { type: 'job:done'; jobId: string; kind: string; ok: boolean; accepted: boolean; reason?: string; summary: JobSummary }
  | { type: 'job:lost'; jobId: string; kind: string }
  /** Something the volunteer should know, in plain words; `code` is a stable reason for tests and logs. */
  | { type: 'problem'; code: string; message: string };

export interface VolunteerWorkerApi {
  /** Loads the model (if the coordinator has one), picks the backend, connects, starts taking jobs. */
  start(opts: StartOptions, onEvent: (e: PageEvent) => void): Promise<{ ok: true } | { ok: false; reason: string; detail: string }>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  /** Applies new settings; `maxJobs` and `backend` changes reconnect (running jobs are handed back). */
  updateSettings(settings: WorkerSettings): Promise<void>;
}
