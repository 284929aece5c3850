// A small DEFLATE (RFC 1951) / gzip (RFC 1952) decoder in plain JavaScript: an opt-in inflater for the
// browser path. Chromium's DecompressionStream handles one gzip member per stream, and a stream per
// Common Crawl member (one per record) costs ~50-120 us in a worker. This decoder reads concatenated
// members in one call and knows where each one ends, so the splitter batches members as it does with
// zlib. Measured in a Chromium worker (20,000 records): about 2.3x faster extraction than
// DecompressionStream. Raw speed in Node: ~69 MB/s of output against zlib's ~360 MB/s.
// Every member's CRC32 and ISIZE are checked, so a decoding mistake cannot pass silently.

import { gzipHeaderLength, isGzipHeaderAt, type InflateResult, type MemberInflater } from './gzip.ts';

const LENGTH_BASE = new Uint16Array([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]);
const LENGTH_EXTRA = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
const DIST_BASE = new Uint16Array([1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]);
const DIST_EXTRA = new Uint8Array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);
const CODE_LENGTH_ORDER = new Uint8Array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

/**
 * A decoding table. `entries` is indexed by the next `bits` input bits (at most ROOT_BITS): entry =
 * symbol << 4 | code length, 0 for no code, LONG for a code longer than the root. Long codes (rare
 * symbols, by construction) are decoded canonically from `counts` and `symbols`, as zlib's puff does.
 * A small root keeps table building cheap: Common Crawl members are small, with a table or two each.
 */
interface Table {
  entries: Uint32Array;
  bits: number;
  /** Number of codes of each length 0..15. */
  counts: Uint16Array;
  /** Symbols in canonical order (by code length, then symbol). */
  symbols: Uint16Array;
}

const ROOT_BITS = 10;
const LONG = 0x80000000;

/** Decodes a code longer than the root from the low bits of `buf` (>= 15 bits available). */
function decodeLong(t: Table, buf: number): number {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len <= 15; len++) {
    code |= (buf >>> (len - 1)) & 1;
    const count = t.counts[len]!;
    if (code - first < count) return (t.symbols[index + code - first]! << 4) | len;
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  return 0;
}

class InflateError extends Error {
  constructor(
    readonly reason: 'truncated_gzip' | 'corrupt_gzip' | 'member_too_large',
    message: string,
  ) {
    super(message);
  }
}

/** Builds the lookup table from canonical code lengths (max 15 bits). */
function buildTable(lengths: Uint8Array, count: number): Table {
  let maxBits = 0;
  const counts = new Uint16Array(16);
  for (let i = 0; i < count; i++) {
    const l = lengths[i]!;
    counts[l]!++;
    if (l > maxBits) maxBits = l;
  }
  counts[0] = 0;
  // Over-subscribed codes would write past their space; a complete check is what zlib does too.
  let left = 1;
  for (let bits = 1; bits <= 15; bits++) {
    left = (left << 1) - counts[bits]!;
    if (left < 0) throw new InflateError('corrupt_gzip', 'over-subscribed Huffman code');
  }
  const nextCode = new Uint16Array(16);
  const offsets = new Uint16Array(16);
  let code = 0;
  for (let bits = 1; bits <= 15; bits++) {
    code = (code + counts[bits - 1]!) << 1;
    nextCode[bits] = code;
    offsets[bits] = offsets[bits - 1]! + counts[bits - 1]!;
  }
  const symbols = new Uint16Array(Math.max(count, 1));
  const rootBits = Math.min(Math.max(maxBits, 1), ROOT_BITS);
  const size = 1 << rootBits;
  const entries = new Uint32Array(size);
  for (let sym = 0; sym < count; sym++) {
    const len = lengths[sym]!;
    if (!len) continue;
    symbols[offsets[len]!++] = sym;
    const c = nextCode[len]!++;
    // Huffman codes are stored MSB-first in an LSB-first stream: reverse them.
    let rev = 0;
    for (let i = 0; i < len; i++) rev |= ((c >> i) & 1) << (len - 1 - i);
    if (len <= rootBits) {
      const entry = (sym << 4) | len;
      for (let k = rev; k < size; k += 1 << len) entries[k] = entry;
    } else entries[rev & (size - 1)] = LONG;
  }
  return { entries, bits: rootBits, counts, symbols };
}

let fixedLit: Table | null = null;
let fixedDist: Table | null = null;
/** The fixed tables of block type 1 (built once: pure data, the same for every caller). */
function fixedTables(): [Table, Table] {
  if (!fixedLit || !fixedDist) {
    const l = new Uint8Array(288);
    l.fill(8, 0, 144);
    l.fill(9, 144, 256);
    l.fill(7, 256, 280);
    l.fill(8, 280, 288);
    fixedLit = buildTable(l, 288);
    fixedDist = buildTable(new Uint8Array(30).fill(5), 30);
  }
  return [fixedLit, fixedDist];
}

/** CRC-32 (IEEE) table, built on first use. */
let crcTable: Int32Array | null = null;
export function crc32(bytes: Uint8Array, start = 0, end = bytes.byteLength): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  const t = crcTable;
  let crc = -1;
  for (let i = start; i < end; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** Bit reader state for the cold parts (block headers, code length tables); the hot loop copies it to locals. */
class BitReader {
  /** Next byte to load; may run up to 4 bytes past the end (zero padding, so a table lookup can peek). */
  pos: number;
  /** Bits not yet used, LSB first, and how many. */
  buf = 0;
  cnt = 0;
  readonly inLen: number;
  constructor(
    readonly input: Uint8Array,
    start: number,
  ) {
    this.pos = start;
    this.inLen = input.byteLength;
  }
  need(n: number): void {
    while (this.cnt < n) {
      if (this.pos < this.inLen) this.buf |= this.input[this.pos]! << this.cnt;
      else if (this.pos >= this.inLen + 4) throw new InflateError('truncated_gzip', 'unexpected end of deflate data');
      this.pos++;
      this.cnt += 8;
    }
  }
  bits(n: number): number {
    this.need(n);
    const v = this.buf & ((1 << n) - 1);
    this.buf >>>= n;
    this.cnt -= n;
    return v;
  }
  decode(t: Table): number {
    this.need(15);
    let e = t.entries[this.buf & ((1 << t.bits) - 1)]!;
    if (e === LONG) e = decodeLong(t, this.buf);
    const len = e & 15;
    if (!len) throw new InflateError('corrupt_gzip', 'invalid Huffman code');
    this.buf >>>= len;
    this.cnt -= len;
    return e >> 4;
  }
  /** Input offset of the first bit not yet used, in whole bytes. */
  bytePos(): number {
    return this.pos - (this.cnt >> 3);
  }
}

/**
 * Inflates one raw DEFLATE stream starting at `input[start]`, appending to `out`. Returns the input
 * offset just after the stream (rounded up to a whole byte). Throws InflateError on bad or cut data.
 */
function inflateRawInto(input: Uint8Array, start: number, out: Output): number {
  const r = new BitReader(input, start);
  try {
    const lengths = new Uint8Array(320);
    for (;;) {
      const final = r.bits(1);
      const type = r.bits(2);
      if (type === 0) {
        // Stored block: drop to a byte boundary, then LEN and NLEN.
        r.bits(r.cnt & 7);
        const len = r.bits(16);
        const nlen = r.bits(16);
        if ((len ^ 0xffff) !== nlen) throw new InflateError('corrupt_gzip', 'stored block length check failed');
        const from = r.bytePos();
        r.buf = 0;
        r.cnt = 0;
        if (from + len > r.inLen) throw new InflateError('truncated_gzip', 'unexpected end of stored block');
        out.write(input, from, from + len);
        r.pos = from + len;
      } else if (type === 1 || type === 2) {
        let lit: Table;
        let dist: Table;
        if (type === 1) [lit, dist] = fixedTables();
        else {
          const hlit = r.bits(5) + 257;
          const hdist = r.bits(5) + 1;
          const hclen = r.bits(4) + 4;
          const clLengths = new Uint8Array(19);
          for (let i = 0; i < hclen; i++) clLengths[CODE_LENGTH_ORDER[i]!] = r.bits(3);
          const cl = buildTable(clLengths, 19);
          lengths.fill(0);
          for (let i = 0; i < hlit + hdist; ) {
            const sym = r.decode(cl);
            if (sym < 16) lengths[i++] = sym;
            else {
              let repeat: number;
              let value = 0;
              if (sym === 16) {
                if (i === 0) throw new InflateError('corrupt_gzip', 'repeat with no previous length');
                value = lengths[i - 1]!;
                repeat = 3 + r.bits(2);
              } else if (sym === 17) repeat = 3 + r.bits(3);
              else repeat = 11 + r.bits(7);
              if (i + repeat > hlit + hdist) throw new InflateError('corrupt_gzip', 'code lengths overflow');
              lengths.fill(value, i, i + repeat);
              i += repeat;
            }
          }
          if (!lengths[256]) throw new InflateError('corrupt_gzip', 'no end-of-block code');
          lit = buildTable(lengths.subarray(0, hlit), hlit);
          dist = buildTable(lengths.subarray(hlit, hlit + hdist), hdist);
        }
        inflateHuffmanBlock(r, lit, dist, out);
      } else throw new InflateError('corrupt_gzip', 'invalid block type 3');
      if (r.bytePos() > r.inLen) throw new InflateError('truncated_gzip', 'unexpected end of deflate data');
      if (final) break;
    }
  } catch (e) {
    // Nonsense decoded from the zero padding past the end means the data was cut, not corrupt.
    if (e instanceof InflateError && e.reason === 'corrupt_gzip' && r.pos > r.inLen) {
      throw new InflateError('truncated_gzip', 'unexpected end of deflate data');
    }
    throw e;
  }
  // Unused whole bytes in the bit buffer belong to what follows (the gzip trailer).
  return r.bytePos();
}

/**
 * The hot loop: one Huffman-coded block. Reader and output state live in locals here (V8 keeps them in
 * registers; closures over them were measured ~2x slower) and are written back at the end.
 */
function inflateHuffmanBlock(r: BitReader, lit: Table, dist: Table, out: Output): void {
  const input = r.input;
  const inLen = r.inLen;
  const litE = lit.entries;
  const litMask = (1 << lit.bits) - 1;
  const distE = dist.entries;
  const distMask = (1 << dist.bits) - 1;
  const memberStart = out.memberStart;
  let p = r.pos;
  let buf = r.buf;
  let cnt = r.cnt;
  let obuf = out.buf;
  let olen = out.len;
  try {
    for (;;) {
      // Refill to >= 24 bits: enough for a literal/length code (15) plus its extra bits (5).
      while (cnt < 24) {
        if (p < inLen) buf |= input[p]! << cnt;
        else if (p >= inLen + 4) throw new InflateError('truncated_gzip', 'unexpected end of deflate data');
        p++;
        cnt += 8;
      }
      let e = litE[buf & litMask]!;
      if (e === LONG) e = decodeLong(lit, buf);
      let len = e & 15;
      if (!len) throw new InflateError('corrupt_gzip', 'invalid Huffman code');
      buf >>>= len;
      cnt -= len;
      let sym = e >> 4;
      if (sym < 256) {
        if (olen === obuf.byteLength) {
          out.len = olen;
          out.grow(1);
          obuf = out.buf;
        }
        obuf[olen++] = sym;
        continue;
      }
      if (sym === 256) break;
      sym -= 257;
      if (sym >= 29) throw new InflateError('corrupt_gzip', 'bad length symbol');
      const lx = LENGTH_EXTRA[sym]!;
      const length = LENGTH_BASE[sym]! + (buf & ((1 << lx) - 1));
      buf >>>= lx;
      cnt -= lx;
      // Refill for the distance code (up to 15 bits; a byte is never shifted past bit 31).
      while (cnt <= 24) {
        if (p < inLen) buf |= input[p]! << cnt;
        else if (p >= inLen + 4) throw new InflateError('truncated_gzip', 'unexpected end of deflate data');
        p++;
        cnt += 8;
      }
      e = distE[buf & distMask]!;
      if (e === LONG) e = decodeLong(dist, buf);
      len = e & 15;
      if (!len) throw new InflateError('corrupt_gzip', 'invalid Huffman code');
      buf >>>= len;
      cnt -= len;
      // And for its extra bits (up to 13).
      while (cnt < 13) {
        if (p < inLen) buf |= input[p]! << cnt;
        else if (p >= inLen + 4) throw new InflateError('truncated_gzip', 'unexpected end of deflate data');
        p++;
        cnt += 8;
      }
      const di = e >> 4;
      if (di >= 30) throw new InflateError('corrupt_gzip', 'bad distance symbol');
      const dx = DIST_EXTRA[di]!;
      const distance = DIST_BASE[di]! + (buf & ((1 << dx) - 1));
      buf >>>= dx;
      cnt -= dx;
      if (distance > olen - memberStart) throw new InflateError('corrupt_gzip', 'distance too far back');
      if (olen + length > obuf.byteLength) {
        out.len = olen;
        out.grow(length);
        obuf = out.buf;
      }
      let from = olen - distance;
      if (distance >= length) {
        obuf.copyWithin(olen, from, from + length);
        olen += length;
      } else {
        for (const end = olen + length; olen < end; ) obuf[olen++] = obuf[from++]!;
      }
    }
  } finally {
    r.pos = p;
    r.buf = buf;
    r.cnt = cnt;
    out.len = olen;
  }
}

/** Growable output with a hard cap (a gzip bomb stops at the cap, not at memory exhaustion). */
class Output {
  buf: Uint8Array;
  len = 0;
  /** Where the current member's output starts (back-references may not reach before it). */
  memberStart = 0;
  constructor(
    initialBytes: number,
    private readonly maxBytes: number,
  ) {
    this.buf = new Uint8Array(Math.min(Math.max(initialBytes, 1024), Math.max(maxBytes, 1)));
  }
  grow(extra: number): void {
    const want = this.len + extra;
    if (want > this.maxBytes) throw new InflateError('member_too_large', `inflates past ${this.maxBytes} bytes`);
    let size = this.buf.byteLength * 2;
    while (size < want) size *= 2;
    const next = new Uint8Array(Math.min(size, this.maxBytes));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    if (this.len === this.buf.byteLength) this.grow(1);
    this.buf[this.len++] = b;
  }
  write(src: Uint8Array, from: number, to: number): void {
    if (this.len + (to - from) > this.buf.byteLength) this.grow(to - from);
    this.buf.set(src.subarray(from, to), this.len);
    this.len += to - from;
  }
  copy(distance: number, length: number): void {
    if (distance > this.len - this.memberStart) throw new InflateError('corrupt_gzip', 'distance too far back');
    if (this.len + length > this.buf.byteLength) this.grow(length);
    const b = this.buf;
    let from = this.len - distance;
    let to = this.len;
    if (distance >= length) b.copyWithin(to, from, from + length);
    else for (const end = to + length; to < end; ) b[to++] = b[from++]!;
    this.len += length;
  }
}

/**
 * Inflates every gzip member in `span` (one or several, concatenated). Result as the other inflaters:
 * `memberBytes` is set when bytes that are not gzip follow the last good member.
 */
export function inflateGzipMembers(span: Uint8Array, maxOutputBytes: number): InflateResult {
  const out = new Output(span.byteLength * 3, maxOutputBytes);
  let at = 0;
  try {
    while (at < span.byteLength) {
      if (!isGzipHeaderAt(span, at)) {
        if (at === 0) throw new InflateError(span.byteLength < 10 ? 'truncated_gzip' : 'corrupt_gzip', 'incorrect header check');
        // Zero padding after a member is tolerated (zlib does too); anything else is junk after it.
        let k = at;
        while (k < span.byteLength && span[k] === 0) k++;
        if (k === span.byteLength) break;
        return { ok: true, bytes: out.buf.subarray(0, out.len), memberBytes: at };
      }
      const h = gzipHeaderLength(span.subarray(at));
      if (h < 0) throw new InflateError('truncated_gzip', 'unexpected end of gzip header');
      out.memberStart = out.len;
      const deflateEnd = inflateRawInto(span, at + h, out);
      if (deflateEnd + 8 > span.byteLength) throw new InflateError('truncated_gzip', 'unexpected end of gzip trailer');
      const view = new DataView(span.buffer, span.byteOffset + deflateEnd, 8);
      const crc = view.getUint32(0, true);
      const isize = view.getUint32(4, true);
      if (isize !== (out.len - out.memberStart) >>> 0) throw new InflateError('corrupt_gzip', 'gzip length (ISIZE) mismatch');
      if (crc !== crc32(out.buf, out.memberStart, out.len)) throw new InflateError('corrupt_gzip', 'gzip CRC32 mismatch');
      at = deflateEnd + 8;
    }
  } catch (e) {
    if (e instanceof InflateError) return { ok: false, reason: e.reason, detail: e.message };
    throw e;
  }
  return { ok: true, bytes: out.buf.subarray(0, out.len) };
}

/** Pure-JavaScript inflater: reads runs of members in one call, everywhere (browser, worker, Node). */
export function createJsMemberInflater(): MemberInflater {
  return { multiMember: true, inflate: inflateGzipMembers };
}
