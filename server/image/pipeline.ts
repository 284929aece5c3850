// One URL through the whole agent-side path: safe fetch -> checks -> decode -> CLIP tensor. `crawlswarm
// probe` and the agent's URL jobs both call this, so a volunteer or site owner sees exactly why a URL was
// skipped by the real pipeline.
import type { Fetcher } from '../fetch/fetcher.ts';
import type { ImageFormat } from '../../shared/image/header.ts';
import type { UrlStatus } from '../../shared/image/status.ts';
import { prepareImage } from './prepare.ts';

/** The per-URL record (probe prints it as one JSON line; a URL job result carries one per candidate). */
export interface UrlResult {
  url: string;
  status: UrlStatus;
  httpStatus: number | null;
  /** Body bytes downloaded (the whole file when complete). */
  bytes: number;
  format: ImageFormat | null;
  width: number | null;
  height: number | null;
  sha256: string | null;
  seconds: number;
  detail?: string;
  finalUrl?: string;
  redirects?: number;
  attempts?: number;
}

export interface ProcessOptions {
  /** Where to write the tensor: a batch tensor and the element offset of this image's slot. */
  out?: Float32Array;
  offset?: number;
  /** The model's input: side and normalisation (its manifest); CLIP ViT-B/32's by default. */
  size?: number;
  mean?: readonly number[];
  std?: readonly number[];
  signal?: AbortSignal;
  /** Monotonic clock in ms, injected for tests. */
  nowMs?: () => number;
}

export async function fetchAndPrepare(fetcher: Fetcher, url: string, options: ProcessOptions = {}): Promise<{ result: UrlResult; tensor: Float32Array | null }> {
  const now = options.nowMs ?? (() => performance.now());
  const started = now();
  const fetched = await fetcher.fetchImage(url, { signal: options.signal });
  const common = { url, httpStatus: fetched.httpStatus, finalUrl: fetched.finalUrl, redirects: fetched.redirects, attempts: fetched.attempts };
  if (!fetched.ok) {
    const result: UrlResult = { ...common, status: fetched.status, bytes: fetched.bytesRead, format: null, width: null, height: null, sha256: null, seconds: (now() - started) / 1000, detail: fetched.detail };
    return { result, tensor: null };
  }
  const prepared = await prepareImage(fetched.body, { limits: fetcher.options.imageLimits, out: options.out, offset: options.offset, size: options.size, mean: options.mean, std: options.std });
  const bytes = fetched.body.length;
  const seconds = (now() - started) / 1000;
  if (!prepared.ok) {
    const { format, width, height, sha256, status, detail } = prepared;
    return { result: { ...common, status, bytes, format, width, height, sha256, seconds, detail }, tensor: null };
  }
  const { format, width, height, sha256 } = prepared;
  return { result: { ...common, status: 'ok', bytes, format, width, height, sha256, seconds }, tensor: prepared.tensor };
}

