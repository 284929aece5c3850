// A bounded cache of word -> token ids. Alt texts repeat a small set of words, so most BPE work is a
// lookup. Two generations instead of a strict LRU: a hit costs one or two Map lookups and no reordering,
// and when the young generation fills up the old one is dropped whole, so memory stays under
// 2 x maxWords entries while words in use keep getting promoted.

export interface WordCache {
  get(word: string): readonly number[] | undefined;
  set(word: string, ids: readonly number[]): void;
  /** Entries held now (both generations). */
  size(): number;
}

export function createWordCache(maxWords: number): WordCache {
  if (maxWords <= 0) return { get: () => undefined, set: () => {}, size: () => 0 };
  let young = new Map<string, readonly number[]>();
  let old = new Map<string, readonly number[]>();
  const set = (word: string, ids: readonly number[]) => {
    if (young.size >= maxWords) {
      old = young;
      young = new Map();
    }
    young.set(word, ids);
  };
  return {
    get(word) {
      const hit = young.get(word);
      if (hit !== undefined) return hit;
      const aged = old.get(word);
      if (aged !== undefined) set(word, aged);
      return aged;
    },
    set,
    size: () => young.size + old.size,
  };
}
