// Node byte sources for WAT jobs: a local file or an http(s) URL, whole or a byte range.
//
// Slice semantics (shared with shared/wat/gzip.ts): a job [start, end) processes every gzip member
// (every record, for uncompressed files) that STARTS in [start, end). Reading therefore begins at
// `start` and runs past `end` until the last such member is finished; a start that is not on a member
// boundary skips ahead to the first member that inflates. Slicing a file at arbitrary offsets thus
// covers every member exactly once across the slices.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

import { openWatUrl, type ByteRange, type SourceFailure, type WatSource } from '../../shared/wat/source.ts';

export type { ByteRange, SourceFailure, WatSource };

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
  opts: { range?: ByteRange; chunkBytes?: number; signal?: AbortSignal; fetchFn?: typeof fetch } = {},
): Promise<WatSource | SourceFailure> {
  const start = opts.range?.start ?? 0;
  const endOffset = opts.range?.end ?? Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(start) || start < 0) return { ok: false, reason: 'bad_range', detail: `bad start ${start}`, transient: false };
  if (isUrl(location)) return openWatUrl(location, { range: opts.range, signal: opts.signal, fetchFn: opts.fetchFn });
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

