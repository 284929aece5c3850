// Byte helpers shared by the gzip splitter and the WARC reader. Plain Uint8Array only (runs in a Web Worker).

/** Concatenates byte arrays into one new array (a single copy). */
export function concatBytes(parts: readonly Uint8Array[], totalBytes?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const total = totalBytes ?? parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * First index >= from where `needle` occurs in `hay[from, end)`, or -1. Jumps with the native
 * single-byte `indexOf` and compares the rest, so there is no per-byte JS loop on the common path.
 */
export function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0, end = hay.byteLength): number {
  const first = needle[0]!;
  const last = end - needle.byteLength;
  let i = from;
  while (i <= last) {
    i = hay.indexOf(first, i);
    if (i < 0 || i > last) return -1;
    let k = 1;
    while (k < needle.byteLength && hay[i + k] === needle[k]) k++;
    if (k === needle.byteLength) return i;
    i++;
  }
  return -1;
}

/** ASCII bytes of a string known to be ASCII (protocol tokens). */
export function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/**
 * A growable byte window over a stream: append at the end, consume at the front. Capacity doubles, so
 * a member or record that arrives in many small chunks is copied a bounded number of times (amortised
 * linear), never once per chunk.
 */
export class ByteWindow {
  private store: Uint8Array;
  private start = 0;
  private end = 0;
  /** Stream offset of `view()[0]`. */
  offset: number;

  constructor(initialCapacityBytes = 1 << 16, startOffset = 0) {
    this.store = new Uint8Array(initialCapacityBytes);
    this.offset = startOffset;
  }

  get length(): number {
    return this.end - this.start;
  }

  /** The unconsumed bytes (a view, valid until the next append). */
  view(): Uint8Array {
    return this.store.subarray(this.start, this.end);
  }

  append(chunk: Uint8Array): void {
    const n = chunk.byteLength;
    if (this.end + n > this.store.byteLength) {
      const live = this.end - this.start;
      if (live + n <= this.store.byteLength >>> 1) {
        this.store.copyWithin(0, this.start, this.end);
      } else {
        const grown = new Uint8Array(Math.max(this.store.byteLength * 2, live + n));
        grown.set(this.store.subarray(this.start, this.end));
        this.store = grown;
      }
      this.start = 0;
      this.end = live;
    }
    this.store.set(chunk, this.end);
    this.end += n;
  }

  consume(n: number): void {
    this.start += n;
    this.offset += n;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
  }

  /** Drops everything and, when the window grew past `keepCapacityBytes`, frees the big store. */
  clear(keepCapacityBytes = 1 << 20): void {
    this.consume(this.length);
    if (this.store.byteLength > keepCapacityBytes) this.store = new Uint8Array(1 << 16);
  }
}
