// The page's view of its worker: every PageEvent folds into one plain object (a pure reducer), which the
// Svelte component keeps in a $state. Counting lives here, not in markup, so it can be tested.
import type { WorkClientState } from '../../../shared/client/workClient.ts';
import type { UrlStatus } from '../../../shared/image/status.ts';
import type { BackendInfo, PageEvent } from '../../worker/api.ts';
import { addToHistogram, emptyHistogram, type HistogramSpec, DEFAULT_HISTOGRAM } from './histogram.ts';

export interface ModelLoad {
  file: string;
  loadedBytes: number;
  totalBytes: number;
  fromCache: boolean;
  done: boolean;
}

export interface Problem {
  code: string;
  message: string;
  /** How many times it happened (repeats are folded into one line). */
  times: number;
}

export interface PageStats {
  connection: WorkClientState | 'idle';
  connectionDetail: string | null;
  volunteer: { id: number; nickname: string; team: string | null } | null;
  backend: BackendInfo | null;
  /** CLIP could not start in this tab (it takes WAT jobs only). */
  modelFailed: boolean;
  /** Model files by path, in the order they started loading. */
  model: ModelLoad[];
  running: Record<string, { kind: string; done: number; total: number | null; unit: string; fraction: number | null }>;
  jobsDone: number;
  /** Jobs that ended with a failure (uploaded as job:fail) or were refused by the coordinator. */
  jobsFailed: number;
  watCandidates: number;
  /** URLs this tab tried, whatever the outcome. */
  urlsTried: number;
  /** URLs scored by CLIP (status ok). */
  imagesScored: number;
  pairsKept: number;
  /** Every non-ok URL status with its count (cors included). */
  rejected: Partial<Record<UrlStatus, number>>;
  corsBlocked: number;
  /** Similarity histogram of this tab's own scored images. */
  histogram: number[];
  problems: Problem[];
}

export const MAX_PROBLEMS = 8;

export function initialStats(spec: HistogramSpec = DEFAULT_HISTOGRAM): PageStats {
  return {
    connection: 'idle',
    connectionDetail: null,
    volunteer: null,
    backend: null,
    modelFailed: false,
    model: [],
    running: {},
    jobsDone: 0,
    jobsFailed: 0,
    watCandidates: 0,
    urlsTried: 0,
    imagesScored: 0,
    pairsKept: 0,
    rejected: {},
    corsBlocked: 0,
    histogram: emptyHistogram(spec),
    problems: [],
  };
}

function addProblem(problems: Problem[], code: string, message: string): Problem[] {
  const same = problems.find((p) => p.code === code && p.message === message);
  if (same) return problems.map((p) => (p === same ? { ...p, times: p.times + 1 } : p));
  return [{ code, message, times: 1 }, ...problems].slice(0, MAX_PROBLEMS);
}

/** Share of the URLs tried that the browser could not read because of CORS (0 when none tried). */
export function corsShare(s: Pick<PageStats, 'corsBlocked' | 'urlsTried'>): number {
  return s.urlsTried === 0 ? 0 : s.corsBlocked / s.urlsTried;
}

/** Bytes still to download over all model files (0 when everything came from the cache or is done). */
export function modelProgress(s: Pick<PageStats, 'model'>): { loadedBytes: number; totalBytes: number; fromCache: boolean; done: boolean } {
  const loadedBytes = s.model.reduce((a, m) => a + m.loadedBytes, 0);
  const totalBytes = s.model.reduce((a, m) => a + m.totalBytes, 0);
  return { loadedBytes, totalBytes, fromCache: s.model.length > 0 && s.model.every((m) => m.fromCache), done: s.model.length > 0 && s.model.every((m) => m.done) };
}

export function applyEvent(s: PageStats, e: PageEvent, spec: HistogramSpec = DEFAULT_HISTOGRAM): PageStats {
  switch (e.type) {
    case 'state':
      return { ...s, connection: e.state, connectionDetail: e.detail ?? null, ...(e.state === 'paused' || e.state === 'stopped' ? { running: {} } : {}) };
    case 'hello':
      return { ...s, volunteer: e.volunteer };
    case 'backend':
      return { ...s, backend: e.info, modelFailed: false };
    case 'model:failed':
      return { ...s, backend: null, modelFailed: true, model: [] };
    case 'model': {
      const entry: ModelLoad = { file: e.file, loadedBytes: e.loadedBytes, totalBytes: e.totalBytes, fromCache: e.fromCache, done: e.phase === 'done' };
      const i = s.model.findIndex((m) => m.file === e.file);
      return { ...s, model: i < 0 ? [...s.model, entry] : s.model.map((m, k) => (k === i ? entry : m)) };
    }
    case 'job:start':
      return { ...s, running: { ...s.running, [e.jobId]: { kind: e.kind, done: 0, total: null, unit: '', fraction: null } } };
    case 'job:progress':
      if (!s.running[e.jobId]) return s;
      return { ...s, running: { ...s.running, [e.jobId]: { kind: e.kind, done: e.done, total: e.total, unit: e.unit, fraction: e.fraction } } };
    case 'job:lost': {
      const { [e.jobId]: _gone, ...running } = s.running;
      return { ...s, running, problems: addProblem(s.problems, 'lease_lost', 'A job took too long and was given to someone else.') };
    }
    case 'job:done': {
      const { [e.jobId]: _gone, ...running } = s.running;
      let next: PageStats = { ...s, running };
      if (!e.ok || !e.accepted) {
        next.jobsFailed++;
        if (e.reason && e.reason !== 'aborted') next.problems = addProblem(s.problems, e.reason.split(':')[0]!, jobFailureText(e.kind, e.reason));
        return next;
      }
      next.jobsDone++;
      const sum = e.summary;
      if (sum.kind === 'wat') next.watCandidates += sum.candidates;
      if (sum.kind === 'url') {
        const rejected = { ...s.rejected };
        let tried = 0;
        for (const [status, n] of Object.entries(sum.counts) as [UrlStatus, number][]) {
          tried += n;
          if (status !== 'ok') rejected[status] = (rejected[status] ?? 0) + n;
        }
        next = {
          ...next,
          urlsTried: s.urlsTried + tried,
          imagesScored: s.imagesScored + (sum.counts.ok ?? 0),
          pairsKept: s.pairsKept + sum.kept,
          corsBlocked: s.corsBlocked + (sum.counts.cors ?? 0),
          rejected,
          histogram: addToHistogram(s.histogram, sum.similarities, spec),
        };
      }
      return next;
    }
    case 'problem':
      return { ...s, problems: addProblem(s.problems, e.code, e.message) };
  }
}

const JOB_WORDS: Record<string, string> = { wat: 'A crawl file (WAT job)', url: 'An image batch (URL job)' };

/** Why a job did not complete, in words a volunteer can act on; codes not listed fall back to a generic line. */
const FAILURE_WORDS: Record<string, string> = {
  network_error: 'the download failed (network)',
  blocked_address: 'the file is on a private network address, which this tab never fetches',
  http_error: 'the server refused the download',
  unreachable: 'the server could not be reached',
  truncated_gzip: 'the file ended early',
  corrupt_gzip: 'the file is damaged',
  not_warc: 'the file is not a WAT file',
  model_mismatch: 'this tab has another CLIP model than the job asks for',
  no_model: 'the CLIP model is not loaded',
  load_failed: 'the CLIP model could not be loaded',
  device_failed: 'the graphics or WASM backend failed',
  executor_crashed: 'an unexpected error in this tab',
  result_too_large: 'its result was too big to upload (the job needs smaller slices)',
  unsupported_kind: 'this tab cannot run this kind of job',
  lease_lost: 'it took too long and was given to someone else',
  bad_request: 'the coordinator rejected the result',
  bad_payload: 'the job description was invalid',
  internal: 'the coordinator had an internal error',
};

export function jobFailureText(kind: string, reason: string): string {
  const code = reason.split(':')[0]!.trim();
  // WAT jobs prefix their download's reasons with `source_` (source_network_error): the same words apply
  const words = FAILURE_WORDS[code] ?? FAILURE_WORDS[code.replace(/^source_/, '')] ?? 'something went wrong';
  return `${JOB_WORDS[kind] ?? `A ${kind} job`} did not complete: ${words} (${code}).`;
}

/** Plain words for the connection state. */
export function connectionText(s: Pick<PageStats, 'connection' | 'connectionDetail'>): string {
  switch (s.connection) {
    case 'idle':
      return 'Not started';
    case 'connecting':
      return s.connectionDetail ? 'Connection lost, reconnecting…' : 'Connecting…';
    case 'ready':
      return 'Connected, working';
    case 'paused':
      return 'Paused';
    case 'stopping':
      return 'Stopping…';
    case 'stopped':
      return 'Stopped';
    case 'refused':
      return `The coordinator refused this tab (${s.connectionDetail ?? 'no reason given'})`;
  }
}

/** Plain words for a URL status in the "rejected" list. */
export const STATUS_WORDS: Record<UrlStatus, string> = {
  ok: 'scored',
  cors: 'blocked by CORS (passed to agents)',
  timeout: 'too slow',
  'http-error': 'server said no (HTTP error)',
  'blocked-address': 'private address',
  'opt-out': 'site opted out (X-Robots-Tag)',
  'too-small': 'too small (icons, pixels)',
  'too-large': 'too large',
  'not-image': 'not an image',
  bomb: 'oversized image (decompression bomb)',
  'decode-error': 'could not be decoded',
  'redirect-loop': 'redirect loop',
  'too-many-redirects': 'too many redirects',
  'dns-error': 'unknown host',
  'connect-error': 'no connection',
  'host-skipped': 'host skipped after failures',
  'bad-url': 'bad address',
  aborted: 'cancelled',
};

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
