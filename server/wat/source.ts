// Node byte sources for WAT jobs: a local file or an http(s) URL, whole or a byte range.
//
// Slice semantics (shared with shared/wat/gzip.ts): a job [start, end) processes every gzip member
// (every record, for uncompressed files) that STARTS in [start, end). Reading therefore begins at
// `start` and runs past `end` until the last such member is finished; a start that is not on a member
// boundary skips ahead to the first member that inflates. Slicing a file at arbitrary offsets thus
// covers every member exactly once across the slices.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export interface ByteRange {
  /** First byte offset (inclusive). */
  start: number;
  /** Exclusive end; members starting before it are finished even past it. Omit for "to the end". */
  end?: number;
}

export type WatSource = {
  ok: true;
  chunks: AsyncIterable<Uint8Array>;
  /** Offset of the first byte in `chunks`. */
  startOffset: number;
  /** Exclusive slice end (Infinity when none). */
  endOffset: number;
  /** Whole file size when known (file size, or Content-Range / Content-Length), else null. */
  totalBytes: number | null;
};

export type SourceFailure = {
  ok: false;
  reason: 'not_found' | 'http_error' | 'network_error' | 'range_not_satisfiable' | 'bad_range';
  detail: string;
  /** Whether a retry later may succeed. */
  transient: boolean;
};

/** Parses `start-end` (end exclusive, may be empty: `1000-`). */
export function parseRange(text: string): { ok: true; range: ByteRange } | { ok: false; reason: 'bad_range'; detail: string } {
  const m = /^(\d+)-(\d*)$/.exec(text.trim());
  if (!m) return { ok: false, reason: 'bad_range', detail: `expected START-END in bytes, got ${JSON.stringify(text)}` };
  const start = Number(m[1]);
  const end = m[2] ? Number(m[2]) : undefined;
  if (end !== undefined && end <= start) return { ok: false, reason: 'bad_range', detail: 'END must be greater than START' };
  return { ok: true, range: end === undefined ? { start } : { start, end } };
}

function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** Opens a file path or an http(s) URL. The returned iterable closes the file / aborts the body when left early. */
export async function openWatSource(
  location: string,
  opts: { range?: ByteRange; chunkBytes?: number; signal?: AbortSignal } = {},
): Promise<WatSource | SourceFailure> {
  const start = opts.range?.start ?? 0;
  const endOffset = opts.range?.end ?? Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(start) || start < 0) return { ok: false, reason: 'bad_range', detail: `bad start ${start}`, transient: false };
  if (isUrl(location)) return openUrl(location, start, endOffset, opts.signal);
  let size: number;
  try {
    const st = await stat(location);
    if (!st.isFile()) return { ok: false, reason: 'not_found', detail: `${location} is not a file`, transient: false };
    size = st.size;
  } catch (e) {
    return { ok: false, reason: 'not_found', detail: (e as Error).message, transient: false };
  }
  if (start > size) return { ok: false, reason: 'range_not_satisfiable', detail: `start ${start} is past the file size ${size}`, transient: false };
  const highWaterMark = opts.chunkBytes ?? 1 << 20;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const stream = createReadStream(location, { start, highWaterMark, signal: opts.signal });
    try {
      for await (const c of stream) yield c as Buffer;
    } finally {
      stream.destroy();
    }
  }
  return { ok: true, chunks: chunks(), startOffset: start, endOffset, totalBytes: size };
}

async function openUrl(url: string, start: number, endOffset: number, signal?: AbortSignal): Promise<WatSource | SourceFailure> {
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  let res: Response;
  try {
    // Open-ended on purpose: the last member of the slice may run past `end`.
    res = await fetch(url, { headers: start > 0 ? { range: `bytes=${start}-` } : {}, signal: controller.signal });
  } catch (e) {
    return { ok: false, reason: 'network_error', detail: (e as Error).message, transient: true };
  }
  if (res.status === 416) {
    await res.body?.cancel();
    return { ok: false, reason: 'range_not_satisfiable', detail: `HTTP 416 for bytes=${start}-`, transient: false };
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    const transient = res.status >= 500 || res.status === 429 || res.status === 408;
    return { ok: false, reason: res.status === 404 ? 'not_found' : 'http_error', detail: `HTTP ${res.status}`, transient };
  }
  // A server that ignores Range answers 200 with the whole file: skip the first `start` bytes ourselves.
  let skip = start > 0 && res.status === 200 ? start : 0;
  let totalBytes: number | null = null;
  const contentRange = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
  if (contentRange) totalBytes = Number(contentRange[1]);
  else if (res.status === 200 && res.headers.get('content-length')) totalBytes = Number(res.headers.get('content-length'));
  const body = res.body;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const reader = body.getReader();
    let finished = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          finished = true;
          return;
        }
        if (skip > 0) {
          if (value.byteLength <= skip) {
            skip -= value.byteLength;
            continue;
          }
          const rest = value.subarray(skip);
          skip = 0;
          yield rest;
          continue;
        }
        yield value;
      }
    } finally {
      if (!finished) {
        // Left early (slice end reached): stop the download instead of draining the rest of the file.
        controller.abort();
        await reader.cancel().catch(() => {});
      }
      reader.releaseLock();
    }
  }
  return { ok: true, chunks: chunks(), startOffset: start, endOffset, totalBytes };
}
