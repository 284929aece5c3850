// Node loader of the CLIP merges file that the project ships in public/ (the coordinator serves the same
// file to browsers at /clip/bpe_simple_vocab_16e6.txt.gz). Reads, checks sha256, gunzips, builds.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createClipTokenizer, type ClipTokenizerOptions } from '../../shared/clip/tokenizer.ts';
import { CLIP_VOCAB_SHA256, type ClipVocabResult } from '../../shared/clip/tokenizer/vocabFile.ts';

export { CLIP_VOCAB_SHA256, type ClipVocabError, type ClipVocabResult } from '../../shared/clip/tokenizer/vocabFile.ts';
export const DEFAULT_CLIP_VOCAB_PATH = resolve(import.meta.dirname, '../../public/clip/bpe_simple_vocab_16e6.txt.gz');

// node:zlib and node:crypto rather than the shared Web-API loader (vocabFile.ts): same checks, and
// synchronous gunzip keeps `crawlswarm tokenize` start-up short.
/** Reads and checks a gzipped merges file and builds a tokenizer from it. */
export async function loadClipTokenizer(
  path: string = DEFAULT_CLIP_VOCAB_PATH,
  options: ClipTokenizerOptions & { expectedSha256?: string } = {},
): Promise<ClipVocabResult> {
  let gz: Buffer;
  try {
    gz = await readFile(path);
  } catch (err) {
    return { ok: false, reason: 'vocab_unreadable', detail: `${path}: ${(err as Error).message}` };
  }
  const expected = options.expectedSha256 ?? CLIP_VOCAB_SHA256;
  const actual = createHash('sha256').update(gz).digest('hex');
  if (actual !== expected) {
    return { ok: false, reason: 'vocab_sha256_mismatch', detail: `${path}: sha256 ${actual}, expected ${expected}` };
  }
  let text: string;
  try {
    text = gunzipSync(gz).toString('utf8');
  } catch (err) {
    return { ok: false, reason: 'vocab_not_gzip', detail: `${path}: ${(err as Error).message}` };
  }
  return createClipTokenizer(text, options);
}

/**
 * Loads each path once per cache: the merges take tens of milliseconds to parse, and a process that
 * tokenizes in several places (agent, CLI) should share one tokenizer. Create one cache per owner.
 */
export function createClipTokenizerCache(): (path?: string) => Promise<ClipVocabResult> {
  const byPath = new Map<string, Promise<ClipVocabResult>>();
  return (path = DEFAULT_CLIP_VOCAB_PATH) => {
    const key = resolve(path);
    let loading = byPath.get(key);
    if (!loading) {
      loading = loadClipTokenizer(key);
      byPath.set(key, loading);
      // A failed load is not remembered, so a fixed file can be retried.
      void loading.then((r) => {
        if (!r.ok) byPath.delete(key);
      });
    }
    return loading;
  };
}
