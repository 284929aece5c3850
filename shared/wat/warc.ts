// Streaming WARC record reader over decompressed bytes. Memory is bounded by the record cap: a record is
// buffered only when its Content-Length is under `maxRecordBytes`; a larger one is skipped while
// scanning for the next `WARC/1.` line, never allocated.

import { ByteWindow, asciiBytes, indexOfBytes } from './bytes.ts';
import type { MemberEvent } from './gzip.ts';
import type { WarcRecord, WatError } from './types.ts';

export type WarcEvent =
  | { kind: 'record'; record: WarcRecord }
  /** A record whose body was not read (over the record cap); it still counts as a record. */
  | { kind: 'skipped'; offset: number; type: string }
  | { kind: 'error'; error: WatError };

/** What the reader consumes: decoded bytes (with their gzip member's offsets when known), gaps, errors. */
export type ReaderInput = MemberEvent | { kind: 'data'; bytes: Uint8Array; memberStart?: undefined; memberEnd?: undefined };

export interface ReaderOptions {
  /** Records whose Content-Length is above this are skipped as `record_too_large`. */
  maxRecordBytes: number;
  /** Header blocks longer than this are `bad_header`. */
  maxHeaderBytes: number;
  /** Stream offset of the first byte (uncompressed input read from a byte range). */
  startOffset: number;
  /** Uncompressed input only: records that start at or after this offset are not read. */
  endOffset: number;
}

const WARC_PREFIX = asciiBytes('WARC/');
const LINE_WARC = asciiBytes('\nWARC/');
/** Length of a version line's start we must see: `WARC/1.` (WARC/0.17 from 2008 Heritrix is accepted too). */
const VERSION_PREFIX_BYTES = 7;

/** Whether `WARC/<digit>.` starts at v[i]. */
function isVersionAt(v: Uint8Array, i: number): boolean {
  return (
    i + VERSION_PREFIX_BYTES <= v.byteLength &&
    indexOfBytes(v, WARC_PREFIX, i, i + WARC_PREFIX.byteLength) === i &&
    v[i + 5]! >= 0x30 &&
    v[i + 5]! <= 0x39 &&
    v[i + 6] === 0x2e
  );
}

/** Index of the next line that starts with a version line, at or after `from`; -1 if none. */
function nextVersionLine(v: Uint8Array, from: number): number {
  for (let i = indexOfBytes(v, LINE_WARC, from); i >= 0; i = indexOfBytes(v, LINE_WARC, i + 1)) {
    if (isVersionAt(v, i + 1)) return i + 1;
    if (i + 1 + VERSION_PREFIX_BYTES > v.byteLength) return -1; // cut at the end: decide with more input
  }
  return -1;
}
const HEADER_END = asciiBytes('\r\n\r\n');
const CR = 13;
const LF = 10;

/** Parses a header block (without its blank line). Names keep their case. */
export function parseWarcHeaders(text: string): { version: string; headers: Record<string, string> } {
  const lines = text.split('\r\n');
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { version: lines[0]!.trim(), headers };
}

/** Reads a header case-insensitively (WARC names are case-insensitive; writers vary). */
export function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const exact = headers[name];
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  for (const k in headers) if (k.toLowerCase() === lower) return headers[k];
  return undefined;
}

/**
 * Yields records and errors. Never throws for bad input. A wrong Content-Length is detected by the
 * missing `\r\n\r\n` + `WARC/1.` after the body; the record is then cut at the next `WARC/1.` line
 * (marked damaged, reported once) and reading goes on from there.
 */
export async function* readWarcRecords(input: AsyncIterable<ReaderInput>, opts: ReaderOptions): AsyncGenerator<WarcEvent> {
  const decoder = new TextDecoder('utf-8');
  const win = new ByteWindow(1 << 16, opts.startOffset);
  // Uncompressed input read from mid-file starts between records: find the first one silently.
  let mode: 'header' | 'seek' = opts.startOffset > 0 ? 'seek' : 'header';
  let aligning = opts.startOffset > 0;
  let records = 0;
  let sawBytes = false;
  let stopped = false;
  /** Error held back until we know whether the input holds any WARC record at all. */
  let startError: WatError | null = null;
  /** Compressed offset of the member the window's bytes came from (gzip input). */
  let memberStart: number | undefined;

  const recordOffset = (): number => memberStart ?? win.offset;

  function* drain(eof: boolean): Generator<WarcEvent> {
    for (;;) {
      if (win.length === 0) return;
      let v = win.view();
      if (mode === 'seek') {
        const at = isVersionAt(v, 0) ? 0 : nextVersionLine(v, 0);
        if (at < 0) {
          // Keep a tail that could hold the start of a version line; drop the rest (bounded memory).
          const keep = eof ? 0 : VERSION_PREFIX_BYTES;
          if (v.byteLength > keep) win.consume(v.byteLength - keep);
          if (eof) win.clear();
          return;
        }
        win.consume(at);
        mode = 'header';
        aligning = false;
        continue;
      }
      // Header mode. Blank lines between records are tolerated.
      let skip = 0;
      while (skip < v.byteLength && (v[skip] === CR || v[skip] === LF)) skip++;
      if (skip) {
        win.consume(skip);
        v = win.view();
        if (v.byteLength === 0) return;
      }
      if (v.byteLength < VERSION_PREFIX_BYTES && !eof) return;
      if (opts.endOffset <= win.offset) {
        stopped = true;
        return;
      }
      if (!isVersionAt(v, 0)) {
        const error: WatError = { reason: 'bad_record_start', offset: recordOffset(), detail: 'expected a WARC/1.x version line' };
        if (records === 0 && !startError) startError = error;
        else if (!aligning) yield { kind: 'error', error };
        mode = 'seek';
        win.consume(1);
        continue;
      }
      const headerLimit = Math.min(v.byteLength, opts.maxHeaderBytes + HEADER_END.byteLength);
      const h = indexOfBytes(v, HEADER_END, 0, headerLimit);
      if (h < 0) {
        if (v.byteLength > opts.maxHeaderBytes) {
          yield { kind: 'error', error: { reason: 'bad_header', offset: recordOffset(), detail: `no end of header within ${opts.maxHeaderBytes} bytes` } };
          mode = 'seek';
          win.consume(1);
          continue;
        }
        if (!eof) return;
        yield { kind: 'error', error: { reason: 'truncated_record', offset: recordOffset(), detail: 'input ends inside a record header' } };
        win.clear();
        return;
      }
      const { version, headers } = parseWarcHeaders(decoder.decode(v.subarray(0, h)));
      const lengthText = headerValue(headers, 'Content-Length');
      const contentLength = lengthText !== undefined && /^\d{1,15}$/.test(lengthText) ? Number(lengthText) : -1;
      const offset = recordOffset();
      if (contentLength < 0) {
        yield { kind: 'error', error: { reason: 'bad_content_length', offset, detail: `Content-Length ${JSON.stringify(lengthText ?? null)}` } };
        win.consume(h + HEADER_END.byteLength);
        mode = 'seek';
        continue;
      }
      if (contentLength > opts.maxRecordBytes) {
        yield {
          kind: 'error',
          error: { reason: 'record_too_large', offset, detail: `Content-Length ${contentLength} is over the cap of ${opts.maxRecordBytes} bytes` },
        };
        // Counted as a record (it is one), but its body is skipped unread.
        records++;
        win.consume(h + HEADER_END.byteLength);
        mode = 'seek';
        yield { kind: 'skipped', offset, type: (headerValue(headers, 'WARC-Type') ?? '').toLowerCase() };
        continue;
      }
      const bodyStart = h + HEADER_END.byteLength;
      const need = bodyStart + contentLength + HEADER_END.byteLength;
      if (v.byteLength < need && !eof) return;
      const type = (headerValue(headers, 'WARC-Type') ?? '').toLowerCase();
      if (v.byteLength >= need && v[need - 4] === CR && v[need - 3] === LF && v[need - 2] === CR && v[need - 1] === LF) {
        records++;
        win.consume(need);
        yield { kind: 'record', record: { offset, version, headers, type, body: v.subarray(bodyStart, bodyStart + contentLength), damaged: false } };
        continue;
      }
      // The body does not end where Content-Length says. Cut it at the next record instead.
      const lineStart = nextVersionLine(v, bodyStart);
      const next = lineStart < 0 ? -1 : lineStart - 1;
      if (next < 0 && !eof) {
        if (v.byteLength - bodyStart > opts.maxRecordBytes) {
          yield { kind: 'error', error: { reason: 'record_too_large', offset, detail: 'no next record within the record cap after a Content-Length mismatch' } };
          records++;
          win.consume(bodyStart);
          mode = 'seek';
          yield { kind: 'skipped', offset, type: (headerValue(headers, 'WARC-Type') ?? '').toLowerCase() };
          continue;
        }
        return; // wait for more input (bounded by the cap above)
      }
      let bodyEnd = next < 0 ? v.byteLength : next + 1;
      let trimmed = 0;
      while (bodyEnd > bodyStart && trimmed < 4 && (v[bodyEnd - 1] === CR || v[bodyEnd - 1] === LF)) {
        bodyEnd--;
        trimmed++;
      }
      const reason = next < 0 && v.byteLength < need ? 'truncated_record' : 'content_length_mismatch';
      yield {
        kind: 'error',
        error: { reason, offset, detail: `Content-Length ${contentLength}, body found ${bodyEnd - bodyStart} bytes` },
      };
      records++;
      const body = v.subarray(bodyStart, bodyEnd);
      win.consume(next < 0 ? v.byteLength : next + 1);
      yield { kind: 'record', record: { offset, version, headers, type, body, damaged: true } };
    }
  }

  for await (const ev of input) {
    if (ev.kind === 'error') {
      yield ev;
      continue;
    }
    if (ev.kind === 'gap') {
      // Bytes were lost: a half record in the window cannot be completed. The gzip layer reported it.
      win.clear();
      mode = 'header';
      continue;
    }
    if (ev.bytes.byteLength === 0) continue;
    sawBytes = true;
    // One member usually holds exactly one record: the window is empty here on the fast path.
    if (win.length === 0) memberStart = ev.memberStart;
    win.append(ev.bytes);
    yield* drain(false);
    if (win.length === 0 && ev.memberStart !== undefined) memberStart = undefined;
    if (stopped) return;
  }
  yield* drain(true);
  // (Assigned inside drain(); TypeScript cannot see that.)
  const held = startError as WatError | null;
  if (held) {
    if (records === 0 && sawBytes) {
      yield { kind: 'error', error: { reason: 'not_warc', offset: held.offset, detail: 'no WARC/1.x record found in the input' } };
    } else yield { kind: 'error', error: held };
  } else if (records === 0 && sawBytes && !aligning) {
    yield { kind: 'error', error: { reason: 'not_warc', offset: opts.startOffset, detail: 'no WARC/1.x record found in the input' } };
  }
}
