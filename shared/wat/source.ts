// Byte sources that work everywhere fetch does (browser page, Web Worker, Node): an http(s) URL, whole
// or a slice, and a web ReadableStream. Node's file source is in server/wat/source.ts.
//
// Slice semantics: a job [start, end) processes every gzip member (every record, for uncompressed
// files) that STARTS in [start, end). Reading begins at `start` and runs past `end` until the last such
// member is finished; a start that is not on a member boundary skips ahead to the first member that
// inflates. Cutting a file at any offsets therefore covers every member exactly once.

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
  reason: 'not_found' | 'http_error' | 'network_error' | 'range_not_satisfiable' | 'bad_range' | 'blocked_address';
  detail: string;
  /** Whether a retry later may succeed. */
  transient: boolean;
};

/**
 * Chunks of a web ReadableStream (a fetch body). Leaving the loop early cancels the stream, so a
 * slice that is done stops the download. (Not every browser makes ReadableStream async-iterable.)
 */
export async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** A fetch that threw: a refused address (a guarded fetch's BLOCKED_ADDRESS, or a page's own check) is for
 * good; anything else may pass. */
export function fetchFailure(e: unknown): SourceFailure {
  const err = e as Error & { code?: string };
  if (err?.code === 'BLOCKED_ADDRESS') return { ok: false, reason: 'blocked_address', detail: err.message, transient: false };
  return { ok: false, reason: 'network_error', detail: err?.message ?? String(e), transient: true };
}

/** Fetches a WAT (or a slice of one) with a Range request; `fetchFn` defaults to the global fetch. */
export async function openWatUrl(
  url: string,
  opts: { range?: ByteRange; signal?: AbortSignal; fetchFn?: typeof fetch } = {},
): Promise<WatSource | SourceFailure> {
  const start = opts.range?.start ?? 0;
  const endOffset = opts.range?.end ?? Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(start) || start < 0) return { ok: false, reason: 'bad_range', detail: `bad start ${start}`, transient: false };
  const controller = new AbortController();
  opts.signal?.addEventListener('abort', () => controller.abort(opts.signal?.reason), { once: true });
  let res: Response;
  try {
    // Open-ended on purpose: the last member of the slice may run past `end`.
    res = await (opts.fetchFn ?? fetch)(url, { headers: start > 0 ? { range: `bytes=${start}-` } : {}, signal: controller.signal });
  } catch (e) {
    return fetchFailure(e);
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
  const skipBytes = start > 0 && res.status === 200 ? start : 0;
  let totalBytes: number | null = null;
  const contentRange = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
  if (contentRange) totalBytes = Number(contentRange[1]);
  else if (res.status === 200 && res.headers.get('content-length')) totalBytes = Number(res.headers.get('content-length'));
  const body = res.body;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    let skip = skipBytes;
    try {
      for await (const value of streamChunks(body)) {
        if (skip >= value.byteLength) {
          skip -= value.byteLength;
          continue;
        }
        yield skip ? value.subarray(skip) : value;
        skip = 0;
      }
    } finally {
      controller.abort();
    }
  }
  return { ok: true, chunks: chunks(), startOffset: start, endOffset, totalBytes };
}
