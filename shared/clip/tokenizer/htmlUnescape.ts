// Python's `html.unescape`, exactly: CLIP's tokenizer runs it twice on every text, so alt texts such as
// "Tom &amp;amp; Jerry" and "caf&eacute" tokenize as the model saw them in training. Python's rules differ
// from a browser's in small ways that change tokens, so they are spelled out here:
// - a reference is `&#digits`, `&#xhex` or `&name` where name is 1-32 characters other than
//   tab, LF, FF, space, `<`, `&`, `#`, `;`; the trailing `;` is optional for all three;
// - a name that is not in the HTML5 table decodes its longest prefix (2+ characters) that is, which can
//   only be one of the legacy names allowed without `;` (`&ampx;` -> `&x;`, `&notit;` -> `¬it;`);
// - numeric references: NUL, CR and 0x80-0x9F use the HTML5 replacement table (Windows-1252 for C1),
//   surrogates and values past U+10FFFF become U+FFFD, and the other controls and noncharacters
//   (0x01-0x08, 0x0B, 0x0E-0x1F, 0x7F, U+FDD0-U+FDEF, U+xFFFE/U+xFFFF) are dropped: a browser keeps them.
// The HTML5 named-reference table and the Windows-1252 remap come from the `entities` package
// (the WHATWG table), so nothing here is a hand-written partial list.
import { DecodingMode, decodeHTML, replaceCodePoint } from 'entities/decode';

// `u` so that `{1,32}` counts code points, as Python does, not UTF-16 units.
const CHARACTER_REFERENCE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function isDroppedCodePoint(cp: number): boolean {
  if ((cp >= 0x01 && cp <= 0x08) || cp === 0x0b || (cp >= 0x0e && cp <= 0x1f) || (cp >= 0x7f && cp <= 0x9f)) return true;
  if (cp >= 0xfdd0 && cp <= 0xfdef) return true;
  return (cp & 0xfffe) === 0xfffe; // U+FFFE, U+FFFF and their copies in planes 1-16
}

function decodeNumeric(body: string): string {
  const hex = body[1] === 'x' || body[1] === 'X';
  const digits = body.slice(hex ? 2 : 1).replace(/;$/, '');
  // Very long digit strings give a huge float or Infinity: still past U+10FFFF, as in Python.
  const cp = parseInt(digits, hex ? 16 : 10);
  if (cp === 0x00 || cp === 0x0d || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
    return String.fromCodePoint(replaceCodePoint(cp > 0x10ffff ? 0x110000 : cp));
  }
  if (isDroppedCodePoint(cp)) return '';
  return String.fromCodePoint(cp);
}

function decodeReference(_match: string, body: string): string {
  if (body.charCodeAt(0) === 0x23 /* # */) return decodeNumeric(body);
  // `body` holds no `&`, so decoding `&body` on its own touches this one reference. entities' text-mode
  // (Legacy) decoder consumes the longest name in the WHATWG table and keeps the rest, which for a body
  // whose only possible `;` is its last character is the same as Python's whole-then-longest-prefix rule.
  return decodeHTML('&' + body, DecodingMode.Legacy);
}

/** Python 3 `html.unescape(text)`. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARACTER_REFERENCE, decodeReference);
}
