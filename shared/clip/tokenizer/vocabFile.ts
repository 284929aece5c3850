// The merges file as shipped (gzipped), for both sides: the agent reads it from public/, the page fetches
// it from the coordinator. Web APIs only (crypto.subtle, DecompressionStream), so this runs in a Worker.
import { createClipTokenizer, type ClipTokenizer, type ClipTokenizerOptions } from '../tokenizer.ts';

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
    const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream('gzip'));
    text = await new Response(stream).text();
  } catch (err) {
    return { ok: false, reason: 'vocab_not_gzip', detail: (err as Error).message };
  }
  return createClipTokenizer(text, options);
}
