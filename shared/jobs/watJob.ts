// A WAT job, the same in the agent and the page: work out the byte range of the slice, run the extraction
// (injected: zlib in Node, DecompressionStream in a browser), collect the candidates and report progress.
import type { ExecutionContext, ExecutionOutcome } from '../client/executor.ts';
import { fetchFailure, type ByteRange, type SourceFailure } from '../wat/source.ts';
import type { Candidate, ExtractProgress, ExtractSummary } from '../wat/types.ts';
import { MAX_WAT_CANDIDATES, type WatPayload, type WatResult } from './wat.ts';

export type WatExtract = (
  url: string,
  opts: { range?: ByteRange; signal: AbortSignal; onCandidates: (batch: Candidate[]) => void; onProgress: (p: ExtractProgress) => void },
) => Promise<{ ok: true; summary: ExtractSummary } | SourceFailure>;

/** Slice `index` of `count` equal byte ranges of a file of `size` bytes (the last one takes the rest). */
export function sliceRange(size: number, slice: { index: number; count: number }): ByteRange {
  const start = Math.floor((size * slice.index) / slice.count);
  const end = slice.index === slice.count - 1 ? size : Math.floor((size * (slice.index + 1)) / slice.count);
  return { start, end };
}

/** The size of a remote file, from a HEAD request. */
export async function remoteSize(url: string, signal: AbortSignal, fetchImpl: typeof fetch = fetch): Promise<number | SourceFailure> {
  try {
    const res = await fetchImpl(url, { method: 'HEAD', signal });
    const len = Number(res.headers.get('content-length'));
    if (!res.ok) return { ok: false, reason: res.status === 404 ? 'not_found' : 'http_error', detail: `HEAD ${url}: HTTP ${res.status}`, transient: res.status >= 500 };
    if (!Number.isFinite(len) || len <= 0) return { ok: false, reason: 'http_error', detail: `HEAD ${url}: no Content-Length, cannot slice`, transient: false };
    return len;
  } catch (err) {
    const f = fetchFailure(err);
    return { ...f, detail: `HEAD ${url}: ${f.detail}` };
  }
}

export async function runWatJob(payload: WatPayload, extract: WatExtract, ctx: ExecutionContext, fetchImpl?: typeof fetch): Promise<ExecutionOutcome> {
  let range: ByteRange | undefined = payload.range ?? undefined;
  if (!range && payload.slice && payload.slice.count > 1) {
    const size = await remoteSize(payload.url, ctx.signal, fetchImpl);
    if (typeof size !== 'number') return { ok: false, reason: `source_${size.reason}`, detail: size.detail, transient: size.transient };
    range = sliceRange(size, payload.slice);
  }
  const candidates: Candidate[] = [];
  let overflow = false;
  const res = await extract(payload.url, {
    range,
    signal: ctx.signal,
    onCandidates: (batch) => {
      if (candidates.length + batch.length > MAX_WAT_CANDIDATES) overflow = true;
      else candidates.push(...batch);
    },
    onProgress: (p) => ctx.progress({ done: p.records, unit: 'records', bytes: p.bytes, ...(p.sliceBytes ? { totalBytes: p.sliceBytes } : {}) }),
  });
  if (!res.ok) return { ok: false, reason: `source_${res.reason}`, detail: res.detail, transient: res.transient };
  if (ctx.signal.aborted) return { ok: false, reason: 'aborted', detail: 'the job was cancelled', transient: true };
  if (overflow) {
    return { ok: false, reason: 'too_many_candidates', detail: `more than ${MAX_WAT_CANDIDATES} candidates: ingest this file in more slices`, transient: false };
  }
  const s = res.summary;
  const result: WatResult = {
    summary: {
      records: s.records, metadataRecords: s.metadataRecords, imgLinks: s.imgLinks, withAlt: s.withAlt,
      candidates: candidates.length, errors: s.errors, damaged: s.damaged, bytes: s.bytes,
    },
    candidates: candidates.map((c) => ({ url: c.url, alt: c.alt, pageUrl: c.pageUrl, language: c.language, languageScore: c.languageScore })),
  };
  return { ok: true, result };
}
