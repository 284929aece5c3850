// The text side of openai/CLIP `simple_tokenizer.py` before BPE: clean, then split into words.
// Whitespace has two definitions there and both matter for exact ids:
// - the `regex` module's `\s` (Unicode White_Space) collapses runs to one space and is what the split
//   pattern's `[^\s...]` excludes: it includes U+0085 and excludes U+FEFF, unlike JavaScript's `\s`;
// - `str.strip()` uses `str.isspace()`, which adds U+001C-U+001F, so those are stripped at the ends
//   but kept (and tokenized as punctuation) inside the text.
import { htmlUnescape } from './htmlUnescape.ts';

const PY_REGEX_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const SPACE_RUN = new RegExp(`[${PY_REGEX_SPACE}]+`, 'gu');

/** Python `regex` `\s` (Unicode White_Space); all of it is in the BMP. */
function isRegexSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0x85) return false;
  return (
    code === 0x85 || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000
  );
}

/** Python `str.isspace()`: White_Space plus the four information separators U+001C..U+001F. */
function isStrSpace(code: number): boolean {
  return isRegexSpace(code) || (code >= 0x1c && code <= 0x1f);
}

/** Python `str.strip()` with no argument. */
function strip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isStrSpace(text.charCodeAt(start))) start++;
  while (end > start && isStrSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** `regex.sub(r'\s+', ' ', text)`, skipping the regex when every whitespace is already a lone space. */
function collapseSpaces(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!isRegexSpace(code)) continue;
    if (code !== 0x20 || (i + 1 < text.length && isRegexSpace(text.charCodeAt(i + 1)))) {
      return text.replace(SPACE_RUN, ' ');
    }
  }
  return text;
}

/**
 * The word pattern of `simple_tokenizer.py`, case-insensitive as there (the text is already lower-cased;
 * `i` still matters for characters such as U+017F LATIN SMALL LETTER LONG S in `'ſ`, which folds to `'s`).
 */
export function wordPattern(): RegExp {
  return new RegExp(
    `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${PY_REGEX_SPACE}\\p{L}\\p{N}]+`,
    'giu',
  );
}

/**
 * Makes a cleaned text split under `wordPattern()` exactly as Python's `regex` splits it. The two engines
 * differ on one character only (checked on every code point): U+0345 COMBINING GREEK YPOGEGRAMMENI
 * case-folds to a letter (ι), so under IGNORECASE Python matches it with neither `[\p{L}]+` nor the
 * negated class; findall skips it and no word spans it. JavaScript's /iu takes it as a letter. A space
 * has Python's effect exactly.
 */
export function maskForSplit(cleaned: string): string {
  return cleaned.includes('\u0345') ? cleaned.replaceAll('\u0345', ' ') : cleaned;
}

/**
 * `whitespace_clean(basic_clean(text)).lower()` without ftfy: unescape HTML twice, strip, collapse
 * whitespace runs to one space, strip, lower-case. ftfy.fix_text (mojibake repair, curly quotes to
 * straight, full-width to ASCII, NFC) is not applied; the reference ids were computed the same way.
 * Checked on every code point against Python 3.11: identical except that `toLowerCase` knows the 55
 * capitals added in Unicode 15-17 (U+1C89, U+A7CB.., U+10D50.., U+16EA0..), which Python 3.11 keeps.
 */
export function cleanText(text: string): string {
  return strip(collapseSpaces(strip(htmlUnescape(htmlUnescape(text))))).toLowerCase();
}
