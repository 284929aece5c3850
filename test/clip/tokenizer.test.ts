import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIP_CONTEXT_LENGTH,
  CLIP_END_ID,
  CLIP_START_ID,
  createClipTokenizer,
  htmlUnescape,
  type ClipTokenizer,
} from '../../shared/clip/tokenizer.ts';
import { clipTokenizerFromGzip, CLIP_VOCAB_SHA256 } from '../../shared/clip/tokenizer/vocabFile.ts';
import { createClipTokenizerCache, DEFAULT_CLIP_VOCAB_PATH, loadClipTokenizer } from '../../server/clip/vocab.ts';

const fixtures = join(import.meta.dirname, '../fixtures/clip');
interface Case {
  text: string;
  ids: number[];
  decoded?: string;
}
const upstream = JSON.parse(readFileSync(join(fixtures, 'clip-tokenizer-reference.json'), 'utf8'));
const upstreamCases: (Case & { name: string })[] = upstream.reference_cases.cases;
const upstreamAscii: Case[] = upstream.openai_simple_tokenizer_check.extra_ascii_cases_computed_locally;
const extra: { cases: (Case & { group: string; decoded: string })[]; html_unescape: [string, string][] } = JSON.parse(
  readFileSync(join(fixtures, 'extra-reference.json'), 'utf8'),
);
const mergesText = gunzipSync(readFileSync(DEFAULT_CLIP_VOCAB_PATH)).toString('utf8');

function build(cacheWords?: number): ClipTokenizer {
  const made = createClipTokenizer(mergesText, { cacheWords });
  if (!made.ok) throw new Error(made.detail);
  return made.tokenizer;
}

/** Hugging Face's `clean_up_tokenization_spaces`, to compare our (openai) decode with the upstream HF decodes. */
function hfCleanUp(text: string): string {
  return text
    .replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

let tokenizer: ClipTokenizer;
beforeAll(() => {
  tokenizer = build();
});

describe('reference ids (transformers.js tests, re-checked against openai simple_tokenizer.py)', () => {
  it.each(upstreamCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(tokenizer.encode(c.text)).toEqual(c.ids);
  });
  it.each(upstreamAscii.map((c) => [c.text, c] as const))('%s', (_text, c) => {
    expect(tokenizer.encode(c.text)).toEqual(c.ids);
  });
  it('decodes every reference case as openai does (equal to HF after its space clean-up)', () => {
    for (const c of upstreamCases) expect(hfCleanUp(tokenizer.decode(c.ids)), c.name).toBe(c.decoded);
    expect(tokenizer.decode(upstreamAscii[0]!.ids)).toBe('<|startoftext|>a photo of a cat <|endoftext|>');
  });
});

describe('extra reference (Python: html.unescape, regex module, str.lower, same BPE rules)', () => {
  it('has alt texts, random mixes and long texts', () => {
    const groups = new Set(extra.cases.map((c) => c.group));
    expect([...groups].sort()).toEqual(['long', 'random_mix', 'warc_alt']);
    expect(extra.cases.length).toBeGreaterThan(1000);
  });
  it('matches every case id for id, and its decode', () => {
    const wrong = extra.cases.filter((c) => JSON.stringify(tokenizer.encode(c.text)) !== JSON.stringify(c.ids));
    expect(wrong.map((c) => c.text)).toEqual([]);
    const badDecode = extra.cases.filter((c) => tokenizer.decode(c.ids) !== c.decoded);
    expect(badDecode.map((c) => c.text)).toEqual([]);
  });
  it("matches Python's html.unescape on every HTML5 entity name and the numeric edge cases", () => {
    expect(extra.html_unescape.length).toBeGreaterThan(9000);
    const wrong = extra.html_unescape.filter(([input, output]) => htmlUnescape(input) !== output);
    expect(wrong).toEqual([]);
  });
});

describe('html unescape and clean-up', () => {
  it('unescapes twice, as openai does', () => {
    expect(tokenizer.encode('Tom &amp;amp; Jerry')).toEqual(tokenizer.encode('Tom & Jerry'));
    expect(tokenizer.encode('caf&eacute;')).toEqual(tokenizer.encode('café'));
  });
  it("follows Python's rules where browsers differ", () => {
    expect(htmlUnescape('&#1;x&#x7f;')).toBe('x'); // dropped controls (a browser keeps them)
    expect(htmlUnescape('&#x80;&#150;')).toBe('€–'); // Windows-1252 C1 remap
    expect(htmlUnescape('&#xD800;&#x110000;&#0;')).toBe('\ufffd\ufffd\ufffd');
    expect(htmlUnescape('&ampx; &notit; &notin;')).toBe('&x; ¬it; ∉');
    expect(htmlUnescape('&' + 'a'.repeat(40) + ';')).toBe('&' + 'a'.repeat(40) + ';');
  });
  it('strips U+001C..U+001F at the ends but keeps them inside; U+0085 is whitespace, U+FEFF is not', () => {
    expect(tokenizer.encode('\x1c cat \x1f')).toEqual(tokenizer.encode('cat'));
    expect(tokenizer.encode('cat\x1cdog')).not.toEqual(tokenizer.encode('cat dog'));
    expect(tokenizer.encode('cat\x85dog')).toEqual(tokenizer.encode('cat dog'));
    expect(tokenizer.encode('cat\ufeffdog')).not.toEqual(tokenizer.encode('cat dog'));
  });
});

describe('edge cases', () => {
  it('encodes an empty or blank text as start and end only', () => {
    expect(tokenizer.encode('')).toEqual([CLIP_START_ID, CLIP_END_ID]);
    expect(tokenizer.encode(' \n\t\u3000 ')).toEqual([CLIP_START_ID, CLIP_END_ID]);
    expect(tokenizer.decode(tokenizer.encode(''))).toBe('<|startoftext|><|endoftext|>');
  });
  it('round-trips unicode, emoji and CJK through decode', () => {
    for (const text of ['生活的真谛是', '東京タワー の 夜景', '👩‍👩‍👧 🇫🇷 ❤️', 'ελληνικά ς']) {
      const words = text.split(' ');
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(`<|startoftext|>${words.join(' ')} <|endoftext|>`);
    }
    // Combining marks are neither letters nor numbers, so the pattern splits around them (as in Python).
    expect(tokenizer.decode(tokenizer.encode('नमस्ते'))).toBe('<|startoftext|>नमस ् त े <|endoftext|>');
    // One CJK character that is not a token of its own falls back to its 3 UTF-8 byte symbols.
    expect(tokenizer.encode('谛').length).toBeGreaterThan(3);
  });
  it('splits at U+0345 and drops it, as Python regex does under IGNORECASE (JavaScript alone would keep it in the word)', () => {
    expect(tokenizer.encode('\u03b1\u0345\u03b2')).toEqual(tokenizer.encode('\u03b1 \u03b2'));
    expect(extra.cases.filter((c) => c.text.includes('\u0345')).length).toBeGreaterThan(10);
  });
  it('encodes a lone surrogate as U+FFFD (Python would refuse it)', () => {
    expect(tokenizer.encode('a\ud800b')).toEqual(tokenizer.encode('a\ufffdb'));
    expect(tokenizer.encode('\udc00')).toEqual(tokenizer.encode('\ufffd'));
  });
  it('keeps special tokens written in the text, as openai does', () => {
    expect(tokenizer.encode('a <|endoftext|> b')).toEqual([CLIP_START_ID, 320, CLIP_END_ID, 321, CLIP_END_ID]);
  });
  it('names token texts and refuses ids that are not tokens', () => {
    expect(tokenizer.tokenText(2368)).toBe('cat</w>');
    expect(tokenizer.tokenText(CLIP_START_ID)).toBe('<|startoftext|>');
    expect(tokenizer.tokenText(49408)).toBeUndefined();
    expect(() => tokenizer.decode([320, 49408])).toThrow(RangeError);
    expect(() => tokenizer.decode([1.5])).toThrow(RangeError);
  });
});

describe('tokenize (clip.tokenize)', () => {
  const words = (n: number) => Array.from({ length: n }, () => 'a').join(' '); // 'a' is one token

  it('pads with 0 to 77 and returns int64 rows', () => {
    const batch = tokenizer.tokenize(['a photo of a cat', '']);
    if (!batch.ok) throw new Error(batch.detail);
    expect(batch.inputIds).toBeInstanceOf(BigInt64Array);
    expect(batch.dims).toEqual([2, CLIP_CONTEXT_LENGTH]);
    expect(batch.inputIds.length).toBe(2 * 77);
    expect(Array.from(batch.lengths)).toEqual([7, 2]);
    const row0 = Array.from(batch.inputIds.subarray(0, 77), Number);
    expect(row0.slice(0, 7)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    expect(row0.slice(7).every((id) => id === 0)).toBe(true);
    const row1 = Array.from(batch.inputIds.subarray(77), Number);
    expect(row1.slice(0, 3)).toEqual([49406, 49407, 0]);
    expect(batch.truncatedRows).toEqual([]);
  });
  it('keeps exactly 77 ids untouched and truncates 78 keeping the end token', () => {
    expect(tokenizer.encode(words(75)).length).toBe(77);
    const batch = tokenizer.tokenize([words(75), words(76), words(300)]);
    if (!batch.ok) throw new Error(batch.detail);
    expect(Array.from(batch.lengths)).toEqual([77, 77, 77]);
    expect(batch.truncatedRows).toEqual([1, 2]);
    for (let row = 0; row < 3; row++) {
      const ids = Array.from(batch.inputIds.subarray(row * 77, row * 77 + 77), Number);
      expect(ids[0]).toBe(CLIP_START_ID);
      expect(ids[76]).toBe(CLIP_END_ID);
      expect(ids.slice(1, 76).every((id) => id === 320)).toBe(true);
    }
  });
  it('truncates like openai: first 76 ids of the text, then the end token', () => {
    const long = extra.cases.find((c) => c.group === 'long' && c.ids.length > 100)!;
    const batch = tokenizer.tokenize([long.text]);
    if (!batch.ok) throw new Error(batch.detail);
    expect(Array.from(batch.inputIds, Number)).toEqual([...long.ids.slice(0, 76), CLIP_END_ID]);
  });
  it('returns text_too_long in strict mode, naming the first text that does not fit', () => {
    const result = tokenizer.tokenize(['fine', words(76), words(300)], 77, false);
    expect(result).toMatchObject({ ok: false, reason: 'text_too_long', index: 1, tokenCount: 78, contextLength: 77 });
    expect(tokenizer.tokenize([words(75)], 77, false).ok).toBe(true);
  });
  it('supports other context lengths and refuses impossible ones', () => {
    const batch = tokenizer.tokenize(['a photo of a cat'], 4);
    if (!batch.ok) throw new Error(batch.detail);
    expect(Array.from(batch.inputIds, Number)).toEqual([49406, 320, 1125, 49407]);
    expect(() => tokenizer.tokenize(['x'], 1)).toThrow(RangeError);
    expect(() => tokenizer.tokenize(['x'], 7.5)).toThrow(RangeError);
  });
  it('handles an empty batch', () => {
    const batch = tokenizer.tokenize([]);
    expect(batch).toMatchObject({ ok: true, dims: [0, 77] });
    if (batch.ok) expect(batch.inputIds.length).toBe(0);
  });
});

describe('word cache', () => {
  it('gives the same ids with the cache off, tiny (rotating) and default', () => {
    const texts = extra.cases.map((c) => c.text);
    const off = build(0);
    const tiny = build(8);
    for (const text of [...texts, ...texts]) {
      const want = off.encode(text);
      expect(tiny.encode(text)).toEqual(want);
      expect(tokenizer.encode(text)).toEqual(want);
    }
    expect(off.cachedWords()).toBe(0);
    expect(tiny.cachedWords()).toBeLessThanOrEqual(16);
    expect(tokenizer.cachedWords()).toBeGreaterThan(300);
  });
  it('does not let a caller corrupt cached ids through returned arrays', () => {
    const first = tokenizer.encode('zebra crossing');
    first.fill(0);
    expect(tokenizer.encode('zebra crossing')).not.toContain(0);
  });
});

describe('merges file', () => {
  it('refuses a cut or damaged merges text', () => {
    const lines = mergesText.split('\n');
    const cut = createClipTokenizer(lines.slice(0, 1000).join('\n'));
    expect(cut).toMatchObject({ ok: false, reason: 'bad_merges' });
    if (!cut.ok) expect(cut.detail).toContain('line 1001');
    lines[5] = 'no-space-here';
    expect(createClipTokenizer(lines.join('\n'))).toMatchObject({ ok: false, reason: 'bad_merges' });
    expect(createClipTokenizer('')).toMatchObject({ ok: false, reason: 'bad_merges' });
  });
});

describe('vocab loaders', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clip-vocab-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the shipped file (sha256 checked) in Node', async () => {
    const loaded = await loadClipTokenizer();
    expect(loaded.ok).toBe(true);
    if (loaded.ok) expect(loaded.tokenizer.encode('a dog')).toEqual([49406, 320, 1929, 49407]);
  });
  it('refuses a file whose sha256 differs, a missing file and a file that is not gzip', async () => {
    const altered = join(dir, 'altered.gz');
    const bytes = readFileSync(DEFAULT_CLIP_VOCAB_PATH);
    bytes[bytes.length - 5]! ^= 1;
    await writeFile(altered, bytes);
    expect(await loadClipTokenizer(altered)).toMatchObject({ ok: false, reason: 'vocab_sha256_mismatch' });
    expect(await loadClipTokenizer(join(dir, 'missing.gz'))).toMatchObject({ ok: false, reason: 'vocab_unreadable' });
    const plain = join(dir, 'plain.txt');
    await writeFile(plain, 'not gzip');
    expect(await loadClipTokenizer(plain)).toMatchObject({ ok: false, reason: 'vocab_sha256_mismatch' });
    const realSha = createHash('sha256').update('not gzip').digest('hex');
    expect(await loadClipTokenizer(plain, { expectedSha256: realSha })).toMatchObject({ ok: false, reason: 'vocab_not_gzip' });
  });
  it('memoises per path and forgets failures', async () => {
    const load = createClipTokenizerCache();
    const a = await load();
    const b = await load(DEFAULT_CLIP_VOCAB_PATH);
    expect(a.ok && b.ok && a.tokenizer === b.tokenizer).toBe(true);
    const later = join(dir, 'later.gz');
    expect(await load(later)).toMatchObject({ ok: false, reason: 'vocab_unreadable' });
    await copyFile(DEFAULT_CLIP_VOCAB_PATH, later);
    expect((await load(later)).ok).toBe(true);
  });
  it('loads with Web APIs only (the page path): crypto.subtle + DecompressionStream', async () => {
    const gz = new Uint8Array(readFileSync(DEFAULT_CLIP_VOCAB_PATH));
    const loaded = await clipTokenizerFromGzip(gz);
    expect(loaded.ok).toBe(true);
    if (loaded.ok) expect(loaded.tokenizer.encode('a cat')).toEqual([49406, 320, 2368, 49407]);
    gz[100]! ^= 1;
    expect(await clipTokenizerFromGzip(gz)).toMatchObject({ ok: false, reason: 'vocab_sha256_mismatch' });
    const text = new TextEncoder().encode('plain');
    const sha = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', text)), (x) => x.toString(16).padStart(2, '0')).join('');
    expect(await clipTokenizerFromGzip(text, { expectedSha256: sha })).toMatchObject({ ok: false, reason: 'vocab_not_gzip' });
    expect(CLIP_VOCAB_SHA256).toMatch(/^[0-9a-f]{64}$/);
  });
});
