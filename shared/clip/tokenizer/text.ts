// The text side of openai/CLIP `simple_tokenizer.py` before BPE: clean, then split into words.
// Whitespace has two definitions there and both matter for exact ids:
// - the `regex` module's `\s` (Unicode White_Space) collapses runs to one space and is what the split
//   pattern's `[^\s...]` excludes: it includes U+0085 and excludes U+FEFF, unlike JavaScript's `\s`;
// - `str.strip()` uses `str.isspace()`, which adds U+001C-U+001F, so those are stripped at the ends
//   but kept (and tokenized as punctuation) inside the text.
import { htmlUnescape } from './htmlUnescape.ts';

const PY_REGEX_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_ISSPACE = PY_REGEX_SPACE + '\\u001c-\\u001f';

const SPACE_RUN = new RegExp(`[${PY_REGEX_SPACE}]+`, 'gu');
const STRIP = new RegExp(`^[${PY_ISSPACE}]+|[${PY_ISSPACE}]+$`, 'gu');

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
 * `whitespace_clean(basic_clean(text)).lower()` without ftfy: unescape HTML twice, strip, collapse
 * whitespace runs to one space, strip, lower-case. ftfy.fix_text (mojibake repair, curly quotes to
 * straight, full-width to ASCII, NFC) is not applied; the reference ids were computed the same way.
 */
export function cleanText(text: string): string {
  let cleaned = htmlUnescape(htmlUnescape(text)).replace(STRIP, '');
  cleaned = cleaned.replace(SPACE_RUN, ' ').replace(STRIP, '');
  return cleaned.toLowerCase();
}
