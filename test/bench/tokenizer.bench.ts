// CLIP tokenizer throughput, with the BPE word cache and without it (the baseline, measured in the same run),
// on two sets of texts:
// - "fixture alts": the distinct <img alt> values of the fixture WARCs plus the reference strings. Real, but
//   few and repetitive (most are "photo No. N"), so the cache looks better than it will in production;
// - "zipf captions": 5,000 seeded synthetic captions of 3-20 words drawn from the vocabulary's whole-word
//   tokens with probability ~ 1/rank (merge rank follows training-corpus frequency), every fifth word
//   glued to the next to make words BPE must split, some capitalised, with digits and punctuation. A
//   stand-in for web alt text with a realistic vocabulary spread, since the fixtures hold little real text.
import { mulberry32 } from '../../shared/random.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createClipTokenizer, type ClipTokenizer } from '../../shared/clip/tokenizer.ts';
import { DEFAULT_CLIP_VOCAB_PATH, loadClipTokenizer } from '../../server/clip/vocab.ts';
import type { Bench, BenchResult } from './bench.ts';

function build(mergesText: string, cacheWords: number): ClipTokenizer {
  const made = createClipTokenizer(mergesText, { cacheWords });
  if (!made.ok) throw new Error(made.detail);
  return made.tokenizer;
}

/** Encodes all texts repeatedly for at least `minMs`; returns texts/s and ids/s (start/end not counted). */
function measure(tokenizer: ClipTokenizer, texts: string[], minMs: number): { textsPerS: number; tokensPerS: number } {
  let textCount = 0;
  let tokenCount = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    for (const text of texts) tokenCount += tokenizer.encode(text).length - 2;
    textCount += texts.length;
    elapsed = performance.now() - t0;
  } while (elapsed < minMs);
  return { textsPerS: (textCount / elapsed) * 1000, tokensPerS: (tokenCount / elapsed) * 1000 };
}


function zipfCaptions(tokenizer: ClipTokenizer, count: number): string[] {
  const words: string[] = [];
  for (let id = 512; id < 49406; id++) {
    const m = /^([a-z]{2,})<\/w>$/.exec(tokenizer.tokenText(id)!);
    if (m) words.push(m[1]!);
  }
  // Cumulative 1/(rank + 10) weights, sampled by binary search.
  const cumulative = new Float64Array(words.length);
  let total = 0;
  for (let i = 0; i < words.length; i++) cumulative[i] = total += 1 / (i + 10);
  const rand = mulberry32(20260522);
  const pick = () => {
    const x = rand() * total;
    let lo = 0;
    let hi = words.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return words[lo]!;
  };
  const captions: string[] = [];
  for (let c = 0; c < count; c++) {
    const parts: string[] = [];
    const n = 3 + Math.floor(rand() * 18);
    for (let w = 0; w < n; w++) {
      let word = pick();
      if (rand() < 0.2) word += pick();
      if (rand() < 0.15) word = word[0]!.toUpperCase() + word.slice(1);
      if (rand() < 0.05) word = String(Math.floor(rand() * 3000));
      parts.push(word + (rand() < 0.08 ? ',' : ''));
    }
    captions.push(parts.join(' ') + (rand() < 0.3 ? '.' : ''));
  }
  return captions;
}

function encodeFigures(mergesText: string, label: string, texts: string[], minMs: number, note: string): BenchResult[] {
  const uncached = measure(build(mergesText, 0), texts, minMs);
  // First pass: fresh cached tokenizers (built outside the timing), where each word's first sighting is a
  // miss that also fills the cache. Repeated on new tokenizers so that short sets still time enough work.
  let coldMs = 0;
  let coldTexts = 0;
  let coldTokens = 0;
  let cached = build(mergesText, 20_000);
  for (let round = 0; round < 20 && (round < 3 || coldMs < minMs / 4); round++) {
    cached = build(mergesText, 20_000);
    const t0 = performance.now();
    for (const text of texts) coldTokens += cached.encode(text).length - 2;
    coldMs += performance.now() - t0;
    coldTexts += texts.length;
  }
  const warm = measure(cached, texts, minMs);

  // tokenize(): the int64 [32, 77] batches a text model takes, padding and BigInt conversion included.
  const batchSize = 32;
  let batched = 0;
  const t1 = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i + batchSize <= texts.length; i += batchSize) {
      const batch = cached.tokenize(texts.slice(i, i + batchSize));
      if (!batch.ok) throw new Error(batch.detail);
      batched += batchSize;
    }
    elapsed = performance.now() - t1;
  } while (elapsed < minMs);

  const cacheNote = `${cached.cachedWords()} words cached`;
  return [
    { name: `${label}: encode, no word cache (baseline)`, value: uncached.textsPerS, unit: 'texts/s', note },
    { name: `${label}: encode, no word cache (baseline)`, value: uncached.tokensPerS, unit: 'tokens/s' },
    { name: `${label}: encode, word cache, first pass`, value: (coldTexts / coldMs) * 1000, unit: 'texts/s', baseline: uncached.textsPerS },
    { name: `${label}: encode, word cache, first pass`, value: (coldTokens / coldMs) * 1000, unit: 'tokens/s', baseline: uncached.tokensPerS },
    { name: `${label}: encode, word cache, warm`, value: warm.textsPerS, unit: 'texts/s', baseline: uncached.textsPerS, note: cacheNote },
    { name: `${label}: encode, word cache, warm`, value: warm.tokensPerS, unit: 'tokens/s', baseline: uncached.tokensPerS },
    { name: `${label}: tokenize to int64 [32, 77], warm`, value: (batched / elapsed) * 1000, unit: 'texts/s', baseline: warm.textsPerS },
  ];
}

const bench: Bench = {
  name: 'tokenizer',
  async run({ quick, log }) {
    const minMs = quick ? 250 : 2000;
    const results: BenchResult[] = [];

    const loadTimes: number[] = [];
    for (let i = 0; i < (quick ? 3 : 10); i++) {
      const t0 = performance.now();
      const loaded = await loadClipTokenizer();
      loadTimes.push(performance.now() - t0);
      if (!loaded.ok) throw new Error(loaded.detail);
    }
    loadTimes.sort((a, b) => a - b);
    results.push({ name: 'vocab load (read, sha256, gunzip, parse), median', value: loadTimes[loadTimes.length >> 1]!, unit: 'ms' });

    const mergesText = gunzipSync(readFileSync(DEFAULT_CLIP_VOCAB_PATH)).toString('utf8');
    const fixtures = join(import.meta.dirname, '../fixtures/clip');
    const extra = JSON.parse(readFileSync(join(fixtures, 'extra-reference.json'), 'utf8')) as { cases: { group: string; text: string }[] };
    const upstream = JSON.parse(readFileSync(join(fixtures, 'clip-tokenizer-reference.json'), 'utf8')) as {
      reference_cases: { cases: { text: string }[] };
    };
    const alts = [...extra.cases.filter((c) => c.group === 'warc_alt'), ...upstream.reference_cases.cases].map((c) => c.text);
    const captions = zipfCaptions(build(mergesText, 0), quick ? 2000 : 5000);

    log('warming up');
    measure(build(mergesText, 0), captions, minMs / 2);
    results.push(...encodeFigures(mergesText, 'fixture alts', alts, minMs, `${alts.length} texts`));
    results.push(...encodeFigures(mergesText, 'zipf captions', captions, minMs, `${captions.length} texts`));
    return results;
  },
};

export default bench;
