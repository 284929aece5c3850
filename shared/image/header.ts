// Format sniffing and dimension parsing from the first bytes of a file, without decoding pixels.
// Both the agent (before handing bytes to sharp) and the page (before createImageBitmap) run this, so a
// decompression bomb is refused from its header alone, possibly before the body has finished arriving.

export const IMAGE_FORMATS = ['jpeg', 'png', 'webp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** What the magic bytes say. `other` names a recognised format we do not accept (for the detail text). */
export type Sniffed =
  | { kind: 'image'; format: ImageFormat }
  | { kind: 'other'; name: string }
  | { kind: 'unknown' }
  | { kind: 'need-more' };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const RIFF_MAGIC = [0x52, 0x49, 0x46, 0x46];

/** True when `have` could be the start of `magic` (or of a file beginning with it). */
function isPrefixOf(have: Uint8Array, magic: readonly number[]): boolean {
  const n = Math.min(have.length, magic.length);
  for (let i = 0; i < n; i++) if (have[i] !== magic[i]) return false;
  return true;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}
function ascii(bytes: Uint8Array, at: number, length: number): string {
  let s = '';
  for (let i = at; i < at + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** Sniffs the container from magic bytes; 12 bytes are always enough to decide. */
export function sniffFormat(bytes: Uint8Array): Sniffed {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return { kind: 'image', format: 'jpeg' };
  if (startsWith(bytes, PNG_SIGNATURE)) return { kind: 'image', format: 'png' };
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return { kind: 'image', format: 'webp' };
  if (bytes.length < 12) {
    // Could still become one of ours: decide "unknown" only once the prefix rules every format out.
    const couldBe = [JPEG_MAGIC, PNG_SIGNATURE, RIFF_MAGIC].some((magic) => isPrefixOf(bytes, magic));
    if (couldBe) return { kind: 'need-more' };
  }
  const head = ascii(bytes, 0, 12);
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return { kind: 'other', name: 'gif' };
  if (head.slice(4, 8) === 'ftyp') return { kind: 'other', name: 'isobmff (avif/heic/mp4)' };
  if (head.startsWith('BM')) return { kind: 'other', name: 'bmp' };
  if (head.startsWith('II*\0') || head.startsWith('MM\0*')) return { kind: 'other', name: 'tiff' };
  if (/^\s*</.test(head)) return { kind: 'other', name: 'html/xml/svg' };
  return { kind: 'unknown' };
}

/** Dimensions as stored, plus the EXIF orientation (1-8, 1 when absent) and the size as displayed. */
export interface ImageHeader {
  format: ImageFormat;
  storedWidth: number;
  storedHeight: number;
  orientation: number;
  /** After applying the orientation: orientations 5-8 swap width and height. */
  width: number;
  height: number;
}

export type HeaderResult =
  | ({ ok: true } & ImageHeader)
  | { ok: false; reason: 'need_more_bytes' | 'not_image' | 'bad_header'; detail: string };

function u16be(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}
function u32be(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) >>> 0) + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
}
function u16le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8);
}
function u24le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
}

const NEED_MORE = { ok: false, reason: 'need_more_bytes', detail: 'header not complete yet' } as const;

function done(format: ImageFormat, w: number, h: number, orientation = 1): HeaderResult {
  if (!(w > 0 && h > 0)) return { ok: false, reason: 'bad_header', detail: `${format} header gives ${w}x${h}` };
  const swap = orientation >= 5 && orientation <= 8;
  return { ok: true, format, storedWidth: w, storedHeight: h, orientation, width: swap ? h : w, height: swap ? w : h };
}

/** Reads the dimensions of a JPEG, PNG or WebP from its first bytes. With a truncated prefix it answers
 * `need_more_bytes`; callers that hold the whole file treat that as a bad header. */
export function readImageHeader(bytes: Uint8Array): HeaderResult {
  const sniffed = sniffFormat(bytes);
  if (sniffed.kind === 'need-more') return NEED_MORE;
  if (sniffed.kind !== 'image') {
    return { ok: false, reason: 'not_image', detail: sniffed.kind === 'other' ? sniffed.name : 'unrecognised magic bytes' };
  }
  switch (sniffed.format) {
    case 'png':
      return readPng(bytes);
    case 'webp':
      return readWebp(bytes);
    case 'jpeg':
      return readJpeg(bytes);
  }
}

function readPng(b: Uint8Array): HeaderResult {
  if (b.length < 24) return NEED_MORE;
  if (ascii(b, 12, 4) !== 'IHDR') return { ok: false, reason: 'bad_header', detail: 'PNG without IHDR first' };
  // An eXIf chunk (raw TIFF, before IDAT) may carry an orientation that decoders apply: look for it among
  // the chunks present. A prefix that ends first gives orientation 1 (the pixel count does not depend on it).
  let orientation = 1;
  for (let i = 33; i + 8 <= b.length; ) {
    const length = u32be(b, i);
    const type = ascii(b, i + 4, 4);
    if (type === 'IDAT' || type === 'IEND') break;
    if (type === 'eXIf') {
      if (i + 8 + length <= b.length) orientation = tiffOrientation(b.subarray(i + 8, i + 8 + length)) ?? 1;
      break;
    }
    i += 12 + length;
  }
  return done('png', u32be(b, 16), u32be(b, 20), orientation);
}

function readWebp(b: Uint8Array): HeaderResult {
  if (b.length < 30) return NEED_MORE;
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ') {
    // Lossy: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height.
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return { ok: false, reason: 'bad_header', detail: 'VP8 start code missing' };
    return done('webp', u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return { ok: false, reason: 'bad_header', detail: 'VP8L signature missing' };
    const bits = (b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24)) >>> 0;
    return done('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X') {
    // Extended: 24-bit canvas width-1 and height-1; flag 0x08 says an EXIF chunk exists. It usually
    // comes after the image data, so its orientation is only known once the whole file is here.
    let orientation = 1;
    if (b[20]! & 0x08) {
      for (let i = 30; i + 8 <= b.length; ) {
        const size = b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | ((b[i + 7]! << 24) >>> 0);
        if (ascii(b, i, 4) === 'EXIF') {
          if (i + 8 + size <= b.length) {
            const payload = b.subarray(i + 8, i + 8 + size);
            orientation = (ascii(payload, 0, 6) === 'Exif\0\0' ? tiffOrientation(payload.subarray(6)) : tiffOrientation(payload)) ?? 1;
          }
          break;
        }
        i += 8 + size + (size & 1);
      }
    }
    return done('webp', u24le(b, 24) + 1, u24le(b, 27) + 1, orientation);
  }
  return { ok: false, reason: 'bad_header', detail: `unknown WebP chunk ${JSON.stringify(chunk)}` };
}

function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function readJpeg(b: Uint8Array): HeaderResult {
  let orientation = 1;
  let i = 2;
  for (;;) {
    if (i + 4 > b.length) return NEED_MORE;
    if (b[i] !== 0xff) return { ok: false, reason: 'bad_header', detail: `JPEG marker expected at byte ${i}` };
    let marker = b[i + 1]!;
    // 0xFF fill bytes may precede a marker.
    while (marker === 0xff) {
      i++;
      if (i + 4 > b.length) return NEED_MORE;
      marker = b[i + 1]!;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return { ok: false, reason: 'bad_header', detail: 'JPEG scan before any frame header' };
    const length = u16be(b, i + 2);
    if (length < 2) return { ok: false, reason: 'bad_header', detail: 'JPEG segment length < 2' };
    if (isSof(marker)) {
      if (i + 9 > b.length) return NEED_MORE;
      return done('jpeg', u16be(b, i + 7), u16be(b, i + 5), orientation);
    }
    if (marker === 0xe1) {
      if (i + 2 + length > b.length) return NEED_MORE;
      const o = exifOrientation(b.subarray(i + 4, i + 2 + length));
      if (o !== null) orientation = o;
    }
    i += 2 + length;
  }
}

/** Orientation (tag 0x0112 of IFD0) from a JPEG APP1 payload, or null when it is not EXIF or has none. */
function exifOrientation(app1: Uint8Array): number | null {
  if (ascii(app1, 0, 6) !== 'Exif\0\0' || app1.length < 14) return null;
  return tiffOrientation(app1.subarray(6));
}

/** Orientation from a TIFF structure (EXIF without its "Exif\0\0" prefix), or null. */
function tiffOrientation(t: Uint8Array): number | null {
  if (t.length < 8) return null;
  const little = t[0] === 0x49 && t[1] === 0x49;
  if (!little && !(t[0] === 0x4d && t[1] === 0x4d)) return null;
  const r16 = (i: number) => (little ? u16le(t, i) : u16be(t, i));
  const r32 = (i: number) => (little ? (t[i]! | (t[i + 1]! << 8) | (t[i + 2]! << 16) | (t[i + 3]! << 24)) >>> 0 : u32be(t, i));
  if (r16(2) !== 42) return null;
  const ifd = r32(4);
  if (ifd + 2 > t.length) return null;
  const count = r16(ifd);
  for (let k = 0; k < count; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > t.length) return null;
    if (r16(e) === 0x0112) {
      const value = r16(e + 8);
      return value >= 1 && value <= 8 ? value : null;
    }
  }
  return null;
}
