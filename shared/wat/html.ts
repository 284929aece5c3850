// HTML character reference decoding for attribute values. Common Crawl's WAT writer keeps `src` and `alt`
// exactly as written in the page, so `&amp;`, `&#233;` and `&eacute;` are still there.

import { HTML_ENTITIES, MAX_ENTITY_NAME_LENGTH } from './entities.ts';

// Numeric references that HTML maps to Windows-1252 characters instead of C1 controls.
const C1_REPLACEMENTS: Record<number, number> = {
  0x80: 0x20ac, 0x82: 0x201a, 0x83: 0x0192, 0x84: 0x201e, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021,
  0x88: 0x02c6, 0x89: 0x2030, 0x8a: 0x0160, 0x8b: 0x2039, 0x8c: 0x0152, 0x8e: 0x017d, 0x91: 0x2018,
  0x92: 0x2019, 0x93: 0x201c, 0x94: 0x201d, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02dc,
  0x99: 0x2122, 0x9a: 0x0161, 0x9b: 0x203a, 0x9c: 0x0153, 0x9e: 0x017e, 0x9f: 0x0178,
};

const REFERENCE = /&(?:#([0-9]{1,8});?|#[xX]([0-9a-fA-F]{1,7});?|([A-Za-z][A-Za-z0-9]{0,31};?))/g;

function numeric(code: number): string {
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(C1_REPLACEMENTS[code] ?? code);
}

/**
 * Decodes character references the way a browser does inside an attribute value: numeric ones
 * (`&#233;`, `&#xE9;`, with the Windows-1252 fix-ups), every WHATWG named reference with `;`, and the
 * legacy names without `;` (`&amp`, `&copy`) unless followed by a letter, digit or `=` (the HTML
 * attribute rule, so `?a=1&copy=2` stays as written). Unknown names are left alone.
 */
export function decodeHtmlEntities(text: string): string {
  if (text.indexOf('&') < 0) return text;
  return text.replace(REFERENCE, (match: string, dec: string | undefined, hex: string | undefined, name: string | undefined, at: number) => {
    if (dec !== undefined) return numeric(parseInt(dec, 10));
    if (hex !== undefined) return numeric(parseInt(hex, 16));
    if (name === undefined) return match;
    if (name.endsWith(';')) {
      const full = HTML_ENTITIES[name];
      if (full !== undefined) return full;
    }
    // Longest legacy (no-semicolon) name at the start, e.g. "&amp " or "&eacutex" (kept: a letter follows).
    const bare = name.endsWith(';') ? name.slice(0, -1) : name;
    for (let len = Math.min(bare.length, MAX_ENTITY_NAME_LENGTH); len >= 2; len--) {
      const prefix = bare.slice(0, len);
      const legacy = HTML_ENTITIES[prefix];
      if (legacy === undefined || prefix.endsWith(';')) continue;
      const after = text.charAt(at + 1 + len);
      if (/[A-Za-z0-9=]/.test(after)) return match;
      return legacy + match.slice(1 + len);
    }
    return match;
  });
}
