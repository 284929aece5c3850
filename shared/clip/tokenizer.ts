// The CLIP text tokenizer (openai/CLIP `simple_tokenizer.py` + `clip.tokenize`), in plain TypeScript so
// that the agent (Node) and the page (Web Worker) produce the same ids from the same merges file.
//
// Ids, as in openai/CLIP (49,408 in all):
//   0..255         the 256 byte symbols (in `bytes_to_unicode` order),
//   256..511       the same symbols ending a word (`</w>`),
//   512..49405     merge rule r (0-based line r+2 of the merges file) makes token 512 + r,
//   49406, 49407   <|startoftext|>, <|endoftext|>.
// BPE runs on these integer ids rather than on strings: the merged strings of the file are all distinct,
// so "pair (a, b) has rank r" <=> "a + b is token 512 + r", which is what the string version computes.
//
// Not reproduced: ftfy.fix_text (see text.ts). A lone UTF-16 surrogate, which Python cannot encode,
// is encoded as U+FFFD, as TextEncoder does.
import { byteSymbols } from './tokenizer/bytes.ts';
import { createPairRanks, type PairRanks } from './tokenizer/pairRanks.ts';
import { cleanText, maskForSplit, wordPattern } from './tokenizer/text.ts';
import { createWordCache } from './tokenizer/wordCache.ts';

export { cleanText } from './tokenizer/text.ts';
export { htmlUnescape } from './tokenizer/htmlUnescape.ts';

export const CLIP_START_ID = 49406;
export const CLIP_END_ID = 49407;
export const CLIP_PAD_ID = 0;
export const CLIP_CONTEXT_LENGTH = 77;
export const CLIP_VOCAB_SIZE = 49408;
/** Merge rules used: lines 2..48,895 of the merges file (49152 - 256 - 2 + 1 - 1 lines). */
export const CLIP_MERGE_COUNT = 48894;

const FIRST_MERGE_ID = 512;
const START_TEXT = '<|startoftext|>';
const END_TEXT = '<|endoftext|>';
const END_OF_WORD = '</w>';
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export interface ClipTokenizerOptions {
  /** Words whose ids are kept (x2, see wordCache.ts). 0 turns the cache off. Default 20,000. */
  cacheWords?: number;
}

export type ClipTokenizerError = { ok: false; reason: 'bad_merges'; detail: string };

/**
 * A batch ready for a CLIP text model: `inputIds` is row-major `[batch, contextLength]` int64 (what the
 * transformers.js / optimum ONNX export of CLIPTextModelWithProjection takes as `input_ids`; wrap it as
 * `new ort.Tensor('int64', inputIds, dims)`). Rows are `[start, ...tokens, end]` padded with 0
 * (openai `clip.tokenize`; Hugging Face pads with 49407 instead, which gives the same embedding because
 * the text tower is causal and pools at the first end token).
 */
export interface ClipTokenBatch {
  ok: true;
  inputIds: BigInt64Array;
  dims: [batch: number, contextLength: number];
  /** Ids in each row before padding (start and end included, after truncation); an attention mask is `col < length`. */
  lengths: Int32Array;
  /** Rows that were cut to `contextLength` (their last id is still 49407). */
  truncatedRows: number[];
}

/** Strict mode (`truncate = false`) and a text that does not fit: a permanent error for that text. */
export type ClipTextTooLong = {
  ok: false;
  reason: 'text_too_long';
  detail: string;
  /** Index in `texts` of the first text that does not fit. */
  index: number;
  /** Its id count with start and end. */
  tokenCount: number;
  contextLength: number;
};

export interface ClipTokenizer {
  /** Ids of one text with the start and end ids, no padding, no truncation. */
  encode(text: string): number[];
  /**
   * openai `clip.tokenize(texts, context_length, truncate)`. With `truncate` (the default here; openai's
   * default is False) a long text keeps its first `contextLength - 1` ids and ends with 49407. Without it,
   * a long text makes the whole call return `text_too_long`.
   */
  tokenize(texts: readonly string[], contextLength?: number, truncate?: boolean): ClipTokenBatch | ClipTextTooLong;
  /**
   * openai `SimpleTokenizer.decode`: `</w>` becomes a space, special tokens stay as text, invalid UTF-8
   * becomes U+FFFD, padding (id 0) decodes as `!` as it does there. Throws RangeError for an id outside
   * 0..49407 (Python raises KeyError): ids come from this tokenizer or a model, so that is a bug.
   */
  decode(ids: Iterable<number | bigint>): string;
  /** The token string of an id (`'cat</w>'`, `'<|endoftext|>'`), as in the vocabulary. */
  tokenText(id: number): string | undefined;
  /** Words in the BPE cache now (for tests and benchmarks). */
  cachedWords(): number;
}

interface MergeTables {
  tokenText: string[];
  rankOf: PairRanks;
}

function parseMerges(mergesText: string): MergeTables | ClipTokenizerError {
  const { charOfId } = byteSymbols();
  const tokenText = [...charOfId, ...charOfId.map((c) => c + END_OF_WORD)];
  const idOfText = new Map<string, number>();
  tokenText.forEach((text, id) => idOfText.set(text, id));
  const rankOf = createPairRanks(CLIP_MERGE_COUNT);

  // Walk only the lines needed (the file has 262,145); the first line is a version header.
  let lineStart = mergesText.indexOf('\n') + 1;
  if (lineStart === 0) return { ok: false, reason: 'bad_merges', detail: 'no line after the header' };
  for (let rank = 0; rank < CLIP_MERGE_COUNT; rank++) {
    let lineEnd = mergesText.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = mergesText.length;
    const contentEnd = mergesText.charCodeAt(lineEnd - 1) === 0x0d ? lineEnd - 1 : lineEnd; // tolerate CRLF
    const line = mergesText.slice(lineStart, contentEnd);
    const space = line.indexOf(' ');
    const first = idOfText.get(line.slice(0, space));
    const second = idOfText.get(line.slice(space + 1));
    if (space <= 0 || first === undefined || second === undefined) {
      const where = lineStart >= mergesText.length ? 'missing' : JSON.stringify(line.slice(0, 80));
      return { ok: false, reason: 'bad_merges', detail: `merge line ${rank + 2}: ${where}` };
    }
    const merged = tokenText[first]! + tokenText[second]!;
    if (idOfText.has(merged)) {
      return { ok: false, reason: 'bad_merges', detail: `merge line ${rank + 2} repeats token ${JSON.stringify(merged)}` };
    }
    idOfText.set(merged, FIRST_MERGE_ID + rank);
    tokenText.push(merged);
    rankOf.set(first, second, rank);
    lineStart = lineEnd + 1;
  }
  tokenText.push(START_TEXT, END_TEXT);
  return { tokenText, rankOf };
}

/** Builds a tokenizer from the text of `bpe_simple_vocab_16e6.txt` (already gunzipped). */
export function createClipTokenizer(
  mergesText: string,
  options: ClipTokenizerOptions = {},
): { ok: true; tokenizer: ClipTokenizer } | ClipTokenizerError {
  const tables = parseMerges(mergesText);
  if ('ok' in tables) return tables;
  const { tokenText, rankOf } = tables;
  const { idOfByte, byteOfId } = byteSymbols();
  const cache = createWordCache(options.cacheWords ?? 20_000);
  const pattern = wordPattern();
  let bytesOfId: Uint8Array[] | undefined; // built on first decode: encoding never needs it

  // Symbols of a word: its UTF-8 bytes as base ids, the last one marked end-of-word (+256).
  // No closures in here: it runs for every word the cache misses.
  function wordSymbols(word: string): number[] {
    const symbols: number[] = [];
    for (let i = 0; i < word.length; i++) {
      let cp = word.charCodeAt(i);
      if (cp < 0x80) {
        symbols.push(idOfByte[cp]!);
        continue;
      }
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const next = i + 1 < word.length ? word.charCodeAt(i + 1) : 0;
        if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
          i++;
        } else {
          cp = 0xfffd; // a lone surrogate, as TextEncoder encodes it
        }
      }
      if (cp < 0x800) {
        symbols.push(idOfByte[0xc0 | (cp >> 6)]!, idOfByte[0x80 | (cp & 0x3f)]!);
      } else if (cp < 0x10000) {
        symbols.push(idOfByte[0xe0 | (cp >> 12)]!, idOfByte[0x80 | ((cp >> 6) & 0x3f)]!, idOfByte[0x80 | (cp & 0x3f)]!);
      } else {
        symbols.push(
          idOfByte[0xf0 | (cp >> 18)]!,
          idOfByte[0x80 | ((cp >> 12) & 0x3f)]!,
          idOfByte[0x80 | ((cp >> 6) & 0x3f)]!,
          idOfByte[0x80 | (cp & 0x3f)]!,
        );
      }
    }
    symbols[symbols.length - 1]! += 256;
    return symbols;
  }

  function bpe(symbols: number[]): number[] {
    let length = symbols.length;
    while (length > 1) {
      let bestRank = Infinity;
      let bestAt = -1;
      for (let i = 0; i < length - 1; i++) {
        const rank = rankOf.get(symbols[i]!, symbols[i + 1]!);
        if (rank >= 0 && rank < bestRank) {
          bestRank = rank;
          bestAt = i;
        }
      }
      if (bestAt < 0) break;
      const first = symbols[bestAt]!;
      const second = symbols[bestAt + 1]!;
      const merged = FIRST_MERGE_ID + bestRank;
      // Merge every occurrence, left to right, without overlaps (as simple_tokenizer.py does).
      let out = bestAt;
      for (let i = bestAt; i < length; ) {
        if (symbols[i] === first && i + 1 < length && symbols[i + 1] === second) {
          symbols[out++] = merged;
          i += 2;
        } else {
          symbols[out++] = symbols[i++]!;
        }
      }
      length = out;
    }
    symbols.length = length;
    return symbols;
  }

  function encodeInto(text: string, ids: number[]): void {
    const cleaned = maskForSplit(cleanText(text));
    pattern.lastIndex = 0;
    for (let m = pattern.exec(cleaned); m !== null; m = pattern.exec(cleaned)) {
      const word = m[0];
      const cached = cache.get(word);
      if (cached !== undefined) {
        for (let i = 0; i < cached.length; i++) ids.push(cached[i]!);
        continue;
      }
      let wordIds: number[];
      if (word === START_TEXT) wordIds = [CLIP_START_ID];
      else if (word === END_TEXT) wordIds = [CLIP_END_ID];
      else wordIds = bpe(wordSymbols(word));
      cache.set(word, wordIds);
      for (const id of wordIds) ids.push(id);
    }
  }

  function encode(text: string): number[] {
    const ids = [CLIP_START_ID];
    encodeInto(text, ids);
    ids.push(CLIP_END_ID);
    return ids;
  }

  function tokenize(
    texts: readonly string[],
    contextLength = CLIP_CONTEXT_LENGTH,
    truncate = true,
  ): ClipTokenBatch | ClipTextTooLong {
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new RangeError(`contextLength must be an integer >= 2, got ${contextLength}`);
    }
    const inputIds = new BigInt64Array(texts.length * contextLength); // zero-filled: the padding
    // Ids are below 2^16, so on a little-endian machine an int64 is its low 32-bit word and a zero high
    // word: writing through an Int32Array view avoids a BigInt allocation per id (about 2x faster).
    const words32 = LITTLE_ENDIAN ? new Int32Array(inputIds.buffer) : undefined;
    const lengths = new Int32Array(texts.length);
    const truncatedRows: number[] = [];
    for (let row = 0; row < texts.length; row++) {
      const ids = encode(texts[row]!);
      if (ids.length > contextLength) {
        if (!truncate) {
          return {
            ok: false,
            reason: 'text_too_long',
            detail: `text ${row} has ${ids.length} ids with start and end; the context length is ${contextLength}`,
            index: row,
            tokenCount: ids.length,
            contextLength,
          };
        }
        ids.length = contextLength;
        ids[contextLength - 1] = CLIP_END_ID;
        truncatedRows.push(row);
      }
      const offset = row * contextLength;
      if (words32) {
        for (let i = 0; i < ids.length; i++) words32[2 * (offset + i)] = ids[i]!;
      } else {
        for (let i = 0; i < ids.length; i++) inputIds[offset + i] = BigInt(ids[i]!);
      }
      lengths[row] = ids.length;
    }
    return { ok: true, inputIds, dims: [texts.length, contextLength], lengths, truncatedRows };
  }

  // Python decodes by mapping every character of the joined token texts back to its byte; `</w>` and the
  // special tokens are printable ASCII, so they come out as their own bytes and are replaced afterwards.
  function buildBytesOfId(): Uint8Array[] {
    const byteOfChar = new Map<string, number>();
    for (let id = 0; id < 256; id++) byteOfChar.set(tokenText[id]!, byteOfId[id]!);
    return tokenText.map((text) => Uint8Array.from(text, (char) => byteOfChar.get(char)!));
  }

  function decode(ids: Iterable<number | bigint>): string {
    bytesOfId ??= buildBytesOfId();
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const raw of ids) {
      const id = Number(raw);
      const bytes = Number.isInteger(id) ? bytesOfId[id] : undefined;
      if (bytes === undefined) throw new RangeError(`not a CLIP token id: ${String(raw)}`);
      parts.push(bytes);
      total += bytes.length;
    }
    const all = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      all.set(part, at);
      at += part.length;
    }
    return new TextDecoder('utf-8').decode(all).replaceAll(END_OF_WORD, ' ');
  }

  return {
    ok: true,
    tokenizer: {
      encode,
      tokenize,
      decode,
      tokenText: (id) => tokenText[id],
      cachedWords: () => cache.size(),
    },
  };
}
