// The one entry point the rest of the project calls: compressed (or plain) WAT bytes in, candidate
// batches and a summary out. Runs unchanged in Node and in a Web Worker; Node passes a zlib inflater.

import { asciiBytes, concatBytes, indexOfBytes } from './bytes.ts';
import { DEFAULT_RULES, candidatesFromWat, createExtractState, type ExtractRules } from './candidates.ts';
import { createWebMemberInflater, nextGzipCandidate, splitGzipMembers, type MemberInflater } from './gzip.ts';
import { createEldDetector, laionSubset, type LanguageDetector } from './language.ts';
import type { Candidate, ExtractProgress, ExtractSummary, WatError, WatErrorReason } from './types.ts';
import { headerValue, readWarcRecords, type ReaderInput } from './warc.ts';

export interface ExtractOptions {
  /** Overrides of `DEFAULT_RULES`. */
  rules?: Partial<ExtractRules>;
  /** 'auto' (default): gzip when a gzip header shows up in the first 64 KiB, else uncompressed. */
  format?: 'auto' | 'gzip' | 'plain';
  /** Gzip member inflater. Default: `DecompressionStream` (browser); Node passes the zlib one. */
  inflater?: MemberInflater;
  /** Language detector; default: ELD 'small', loaded on first use. `null` skips detection. */
  detectLanguage?: LanguageDetector | null;
  /** File offset of the first input byte (a byte-range job). Default 0. */
  startOffset?: number;
  /** Members (gzip) or records (plain) starting at or after this offset are left to the next slice. */
  endOffset?: number;
  /** Input size, only to report progress as a fraction. */
  totalBytes?: number | null;
  /** Record cap: larger records are skipped and reported (default 64 MiB). */
  maxRecordBytes?: number;
  /** Header block cap (default 1 MiB). */
  maxHeaderBytes?: number;
  /** Compressed size cap of one gzip member (default 16 MiB). */
  maxMemberInputBytes?: number;
  /** Candidates are handed over once this many are pending (default 1000; a batch may be a page longer). */
  batchSize?: number;
  /** Receives candidates in order; awaited, so a slow consumer slows reading (constant memory). */
  onCandidates?: (batch: Candidate[]) => void | Promise<void>;
  onProgress?: (progress: ExtractProgress) => void;
  /** Decompressed bytes between two progress calls (default 4 MiB). One more call comes at the end. */
  progressEveryBytes?: number;
  /** JSON.parse every JSON metadata record, not only those mentioning `IMG@` (finds more bad JSON; slower). */
  parseAllJson?: boolean;
  /** How many errors to keep in `errorSamples` (default 20). */
  maxErrorSamples?: number;
  /** Milliseconds clock (default `performance.now`). */
  now?: () => number;
}

const MiB = 1 << 20;
const WARC_BYTES = asciiBytes('WARC/');
const LINE_WARC_BYTES = asciiBytes('\nWARC/');

/** Whether `IMG@` occurs in the bytes: jumps between '@' (rare in WAT JSON outside link paths). */
export function mentionsImg(body: Uint8Array): boolean {
  for (let i = body.indexOf(0x40, 3); i >= 0; i = body.indexOf(0x40, i + 1)) {
    if (body[i - 1] === 0x47 && body[i - 2] === 0x4d && body[i - 3] === 0x49) return true;
  }
  return false;
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** The cheap check for records that are not parsed: a JSON object starts with `{` and ends with `}`. Catches a
 * record cut short or overwritten at either end; damage inside one with intact ends needs parseAllJson. */
export function looksLikeWholeJson(body: Uint8Array): boolean {
  let a = 0;
  let b = body.length - 1;
  while (a <= b && isSpace(body[a]!)) a++;
  while (b >= a && isSpace(body[b]!)) b--;
  return a < b && body[a] === 0x7b && body[b] === 0x7d;
}

/**
 * Decides gzip or plain from the first bytes: whichever comes first of a gzip header (1f 8b 08) and a
 * `WARC/` version line. Only a slice that starts mid-file needs the search: a whole file starts with one
 * or the other. (1f 8b 08 never occurs in text, but a plain WARC can hold gzip-encoded HTTP bodies,
 * hence "first".) Replays the peeked chunks.
 */
async function sniffFormat(
  chunks: AsyncIterable<Uint8Array>,
  format: 'auto' | 'gzip' | 'plain',
): Promise<{ format: 'gzip' | 'plain'; chunks: AsyncIterable<Uint8Array> }> {
  if (format !== 'auto') return { format, chunks };
  const it = chunks[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let seen = 0;
  let done = false;
  let found: 'gzip' | 'plain' | null = null;
  let searchedAt = 0;
  while (seen < 64 * 1024 && !found) {
    const r = await it.next();
    if (r.done) done = true;
    else {
      head.push(r.value);
      seen += r.value.byteLength;
    }
    // Search what was seen so far; with tiny chunks, only every 4 KiB (no quadratic copying).
    if (!done && head.length > 1 && seen - searchedAt < 4096 && seen < 64 * 1024) continue;
    searchedAt = seen;
    const v = head.length === 1 ? head[0]! : concatBytes(head);
    let gz = nextGzipCandidate(v, 0);
    if (gz >= 0 && gz + 10 > v.byteLength) gz = -1; // a header cut by the end: not evidence
    const warc = v.byteLength >= 5 && v[0] === 0x57 && indexOfBytes(v, WARC_BYTES, 0, 5) === 0 ? 0 : indexOfBytes(v, LINE_WARC_BYTES);
    if (gz >= 0 && (warc < 0 || gz < warc)) found = 'gzip';
    else if (warc >= 0) found = 'plain';
    if (done) break;
  }
  async function* replay(): AsyncGenerator<Uint8Array> {
    try {
      yield* head;
      if (!done) for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    } finally {
      await it.return?.();
    }
  }
  return { format: found ?? 'plain', chunks: replay() };
}

/**
 * Reads a WAT (gzip with one member per record, or uncompressed) and extracts image/alt-text
 * candidates with the rules. Never throws for bad input: damage is counted in the summary
 * (`damaged`, `errors`, `errorsByReason`, `errorSamples`) and everything readable is still used.
 */
export async function extractWat(chunks: AsyncIterable<Uint8Array>, options: ExtractOptions = {}): Promise<ExtractSummary> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const rules: ExtractRules = { ...DEFAULT_RULES, ...options.rules };
  const startOffset = options.startOffset ?? 0;
  const endOffset = options.endOffset ?? Number.POSITIVE_INFINITY;
  const sliceEnd = Number.isFinite(endOffset) ? endOffset : options.totalBytes ?? null;
  const sliceBytes = sliceEnd !== null && sliceEnd > startOffset ? sliceEnd - startOffset : null;
  const maxRecordBytes = options.maxRecordBytes ?? 64 * MiB;
  const batchSize = options.batchSize ?? 1000;
  const progressEvery = options.progressEveryBytes ?? 4 * MiB;
  const maxSamples = options.maxErrorSamples ?? 20;
  const detect = options.detectLanguage === undefined ? await createEldDetector('small') : options.detectLanguage;

  let bytes = 0;
  let readError: string | null = null;
  // A source that fails mid-way (network reset, aborted body) ends the input like a cut file would:
  // what was read is kept, and the failure is reported as `read_error`.
  async function* counted(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    try {
      for await (const c of source) {
        bytes += c.byteLength;
        yield c;
      }
    } catch (e) {
      readError = e instanceof Error ? e.message : String(e);
    }
  }
  const sniffed = await sniffFormat(counted(chunks), options.format ?? 'auto');

  let inflatedBytes = 0;
  let lastProgressAt = 0;
  const state = createExtractState();
  const summary: ExtractSummary = {
    records: 0,
    metadataRecords: 0,
    imgLinks: 0,
    withAlt: 0,
    candidates: 0,
    errors: 0,
    damaged: false,
    bytes: 0,
    inflatedBytes: 0,
    seconds: 0,
    format: sniffed.format,
    languages: { en: 0, multi: 0, nolang: 0 },
    dropped: state.dropped,
    errorsByReason: {},
    errorSamples: [],
  };
  const addError = (e: WatError): void => {
    summary.errors++;
    summary.errorsByReason[e.reason] = (summary.errorsByReason[e.reason] ?? 0) + 1;
    if (summary.errorSamples.length < maxSamples) summary.errorSamples.push(e);
  };

  async function* readerInput(): AsyncGenerator<ReaderInput> {
    if (sniffed.format === 'gzip') {
      for await (const ev of splitGzipMembers(sniffed.chunks, {
        inflater: options.inflater ?? createWebMemberInflater(),
        startOffset,
        endOffset,
        maxMemberOutputBytes: maxRecordBytes + 64 * 1024,
        maxMemberInputBytes: options.maxMemberInputBytes ?? 16 * MiB,
      })) {
        if (ev.kind === 'data') inflatedBytes += ev.bytes.byteLength;
        yield ev;
      }
    } else {
      for await (const c of sniffed.chunks) {
        inflatedBytes += c.byteLength;
        yield { kind: 'data', bytes: c };
      }
    }
  }

  const progress = (): void => {
    lastProgressAt = inflatedBytes;
    options.onProgress?.({ records: summary.records, bytes, inflatedBytes, candidates: summary.candidates, totalBytes: options.totalBytes ?? null, sliceBytes });
  };

  let batch: Candidate[] = [];
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    const out = batch;
    batch = [];
    await options.onCandidates?.(out);
  };

  const decoder = new TextDecoder('utf-8');
  const plain = sniffed.format === 'plain';
  for await (const ev of readWarcRecords(readerInput(), {
    maxRecordBytes,
    maxHeaderBytes: options.maxHeaderBytes ?? MiB,
    startOffset: plain ? startOffset : 0,
    endOffset: plain ? endOffset : Number.POSITIVE_INFINITY,
  })) {
    if (ev.kind === 'error') {
      addError(ev.error);
      continue;
    }
    if (ev.kind === 'skipped') {
      summary.records++;
      if (ev.type === 'metadata') summary.metadataRecords++;
      continue;
    }
    const rec = ev.record;
    summary.records++;
    if (rec.type === 'metadata') {
      summary.metadataRecords++;
      const contentType = headerValue(rec.headers, 'Content-Type') ?? '';
      if (contentType.startsWith('application/json')) {
        // Parse only records that can hold image links (most WAT records cannot), found on the bytes
        // before any decoding; then decode once.
        if (options.parseAllJson || mentionsImg(rec.body)) {
          const text = decoder.decode(rec.body);
          let wat: unknown;
          try {
            wat = JSON.parse(text);
          } catch (e) {
            addError({ reason: 'bad_json', offset: rec.offset, detail: e instanceof Error ? e.message.slice(0, 200) : String(e) });
            wat = null;
          }
          if (wat !== null) {
            const pageUrl = headerValue(rec.headers, 'WARC-Target-URI') ?? '';
            const found = candidatesFromWat(wat, pageUrl, rules, state, detect);
            for (const c of found) {
              summary.languages[laionSubset(c.language)]++;
              batch.push(c);
            }
            summary.candidates += found.length;
            if (batch.length >= batchSize) await flush();
          }
        } else if (!looksLikeWholeJson(rec.body)) {
          // Not parsed (no image links), but a cut or garbled record still counts as damage.
          addError({ reason: 'bad_json', offset: rec.offset, detail: 'JSON record does not start with { and end with } (cut short?)' });
        }
      }
    }
    if (inflatedBytes - lastProgressAt >= progressEvery) progress();
  }
  await flush();
  if (readError !== null) addError({ reason: 'read_error', offset: startOffset + bytes, detail: readError });
  summary.imgLinks = state.imgLinks;
  summary.withAlt = state.withAlt;
  summary.damaged = summary.errors > 0;
  summary.bytes = bytes;
  summary.inflatedBytes = inflatedBytes;
  summary.seconds = Math.round(now() - started) / 1000;
  progress();
  return summary;
}

export type { WatErrorReason };
