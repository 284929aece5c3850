// The merges file as shipped (gzipped), for the page: it fetches it from the coordinator (the agent reads
// public/ with server/clip/vocab.ts). Web APIs only (crypto.subtle, DecompressionStream): runs in a Worker.
import { CLIP_MERGE_COUNT, createClipTokenizer, type ClipTokenizer, type ClipTokenizerOptions } from '../tokenizer.ts';

/** sha256 of openai/CLIP `clip/bpe_simple_vocab_16e6.txt.gz` (commit d05afc43). */
export const CLIP_VOCAB_SHA256 = '924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a';
/** Where the coordinator serves it (public/clip/ is served statically). */
export const CLIP_VOCAB_URL_PATH = '/clip/bpe_simple_vocab_16e6.txt.gz';

export type ClipVocabError =
  | { ok: false; reason: 'vocab_unreadable'; detail: string }
  | { ok: false; reason: 'vocab_sha256_mismatch'; detail: string }
  | { ok: false; reason: 'vocab_not_gzip'; detail: string }
  | { ok: false; reason: 'bad_merges'; detail: string };

export type ClipVocabResult = { ok: true; tokenizer: ClipTokenizer } | ClipVocabError;

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Lines the tokenizer reads: the header and the merge rules (the file has 262,145). */
const LINES_NEEDED = CLIP_MERGE_COUNT + 1;

/**
 * Gunzips only as far as the tokenizer reads (about 0.5 of 3.1 MB), then cancels the stream: less
 * time and memory in the page than inflating the whole file.
 */
async function gunzipMergeLines(gz: Uint8Array<ArrayBuffer>): Promise<string> {
  const reader = new Blob([gz]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const chunks: Uint8Array[] = [];
  let newlines = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    for (let i = 0; i < value.length; i++) if (value[i] === 0x0a) newlines++;
    if (newlines >= LINES_NEEDED) {
      await reader.cancel();
      break;
    }
  }
  const decoder = new TextDecoder('utf-8');
  // A chunk may end inside a multi-byte character: stream mode carries it over to the next chunk.
  return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join('') + decoder.decode();
}

/**
 * Checks the sha256 of the gzipped merges file, gunzips it and builds the tokenizer. In the page:
 * `clipTokenizerFromGzip(new Uint8Array(await (await fetch(CLIP_VOCAB_URL_PATH)).arrayBuffer()))`.
 */
export async function clipTokenizerFromGzip(
  gz: Uint8Array<ArrayBuffer>,
  options: ClipTokenizerOptions & { expectedSha256?: string } = {},
): Promise<ClipVocabResult> {
  const expected = options.expectedSha256 ?? CLIP_VOCAB_SHA256;
  const actual = hex(await crypto.subtle.digest('SHA-256', gz));
  if (actual !== expected) {
    return { ok: false, reason: 'vocab_sha256_mismatch', detail: `sha256 ${actual}, expected ${expected}` };
  }
  let text: string;
  try {
    text = await gunzipMergeLines(gz);
  } catch (err) {
    return { ok: false, reason: 'vocab_not_gzip', detail: (err as Error).message };
  }
  return createClipTokenizer(text, options);
}
