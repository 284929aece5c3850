// GPT-2/CLIP "bytes to unicode": every byte value gets a printable, non-whitespace character so that
// BPE can work on strings without ever meeting a control character or a space. Printable Latin-1
// bytes map to themselves; the 68 others (controls, space, 0x7F-0xA0, soft hyphen) map to U+0100
// onwards, in byte order. The order of this table is also the order of the first 256 vocabulary ids.

export interface ByteSymbols {
  /** `byteOfId[id]` for id 0..255: the byte that base symbol `id` stands for. */
  byteOfId: Uint8Array;
  /** `idOfByte[byte]`: the base symbol id of a byte (the inverse of `byteOfId`). */
  idOfByte: Uint16Array;
  /** `charOfId[id]`: the printable character of base symbol `id` (python's `bytes_to_unicode()` values, in order). */
  charOfId: string[];
}

function isPrintable(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

export function byteSymbols(): ByteSymbols {
  const byteOfId = new Uint8Array(256);
  const idOfByte = new Uint16Array(256);
  const charOfId: string[] = [];
  let id = 0;
  for (let byte = 0; byte < 256; byte++) {
    if (!isPrintable(byte)) continue;
    byteOfId[id] = byte;
    idOfByte[byte] = id;
    charOfId.push(String.fromCharCode(byte));
    id++;
  }
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    if (isPrintable(byte)) continue;
    byteOfId[id] = byte;
    idOfByte[byte] = id;
    charOfId.push(String.fromCharCode(256 + shifted++));
    id++;
  }
  return { byteOfId, idOfByte, charOfId };
}
