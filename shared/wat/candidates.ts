// Image/alt-text candidates from one WAT metadata record. Pure: JSON in, candidates and counts out.

import { decodeHtmlEntities } from './html.ts';
import type { LanguageDetector } from './language.ts';
import type { Candidate, DropCounts } from './types.ts';

/** The extraction rules. Every field has a documented default (`DEFAULT_RULES`). */
export interface ExtractRules {
  /** Keep alt texts of at least this many characters (Unicode code points, after normalisation). */
  minAltChars: number;
  /** Cut alt texts after this many code points. */
  maxAltChars: number;
  /** Drop urls longer than this (UTF-16 units of the resolved href, ASCII in practice). */
  maxUrlChars: number;
  /** Url schemes to keep, with their colon. */
  protocols: readonly string[];
  /** Drop urls whose path ends with one of these (lower-case, compared case-insensitively). */
  dropExtensions: readonly string[];
  /** Decode HTML character references in url, alt and base. */
  decodeEntities: boolean;
  /** Collapse whitespace runs in alt to one space and trim. */
  collapseWhitespace: boolean;
  /** Drop repeats of the same (url, alt) within one job. */
  dedupe: boolean;
}

export const DEFAULT_RULES: Readonly<ExtractRules> = Object.freeze({
  minAltChars: 5,
  maxAltChars: 2000,
  maxUrlChars: 2048,
  protocols: Object.freeze(['http:', 'https:']),
  dropExtensions: Object.freeze(['.svg', '.gif']),
  decodeEntities: true,
  collapseWhitespace: true,
  dedupe: true,
});

export function emptyDropCounts(): DropCounts {
  return { noAlt: 0, shortAlt: 0, badUrl: 0, protocol: 0, longUrl: 0, extension: 0, duplicate: 0 };
}

/** Counters and the dedupe set of one job; created once per job and threaded through every record. */
export interface ExtractState {
  imgLinks: number;
  withAlt: number;
  dropped: DropCounts;
  /** 53-bit hashes of `url \0 alt` seen in this job. */
  seen: Set<number>;
}

export function createExtractState(): ExtractState {
  return { imgLinks: 0, withAlt: 0, dropped: emptyDropCounts(), seen: new Set() };
}

const NON_SPACE = /\S/;
const SPACE_RUN = /\s+/g;

/** Number of Unicode code points, without allocating for the common short case. */
function codePointLength(text: string, stopAt: number): number {
  let n = 0;
  for (let i = 0; i < text.length && n < stopAt; i++, n++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) i++;
  }
  return n;
}

/** First `max` code points of `text` (never splits a surrogate pair). */
function cutCodePoints(text: string, max: number): string {
  let n = 0;
  let i = 0;
  while (i < text.length && n < max) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
    n++;
  }
  return text.slice(0, i);
}

/** Normalises an alt text as the rules say; '' when it must be dropped as too short. */
export function normaliseAlt(raw: string, rules: ExtractRules): string {
  let alt = rules.decodeEntities ? decodeHtmlEntities(raw) : raw;
  if (rules.collapseWhitespace) alt = alt.replace(SPACE_RUN, ' ').trim();
  if (alt.length > rules.maxAltChars) {
    alt = cutCodePoints(alt, rules.maxAltChars);
    if (rules.collapseWhitespace) alt = alt.trimEnd();
  }
  if (codePointLength(alt, rules.minAltChars) < rules.minAltChars) return '';
  return alt;
}

export type UrlVerdict = { ok: true; url: string } | { ok: false; drop: 'badUrl' | 'protocol' | 'longUrl' | 'extension' };

/** Resolves and checks one image url against the page's base. */
export function normaliseImageUrl(raw: string, base: URL | null, rules: ExtractRules): UrlVerdict {
  const text = (rules.decodeEntities ? decodeHtmlEntities(raw) : raw).trim();
  if (!text) return { ok: false, drop: 'badUrl' };
  let u: URL;
  try {
    u = base ? new URL(text, base) : new URL(text);
  } catch {
    return { ok: false, drop: 'badUrl' };
  }
  if (!rules.protocols.includes(u.protocol)) return { ok: false, drop: 'protocol' };
  u.hash = '';
  const href = u.href;
  if (href.length > rules.maxUrlChars) return { ok: false, drop: 'longUrl' };
  if (rules.dropExtensions.length) {
    const path = u.pathname.toLowerCase();
    for (const ext of rules.dropExtensions) if (path.endsWith(ext)) return { ok: false, drop: 'extension' };
  }
  return { ok: true, url: href };
}

/** The base for relative urls: `<base href>` resolved against the page url, else the page url. */
export function resolveBase(pageUrl: string, baseHref: unknown, rules: ExtractRules): URL | null {
  let page: URL | null = null;
  try {
    page = new URL(pageUrl);
  } catch {
    page = null;
  }
  if (typeof baseHref === 'string' && baseHref.trim()) {
    const text = (rules.decodeEntities ? decodeHtmlEntities(baseHref) : baseHref).trim();
    try {
      return page ? new URL(text, page) : new URL(text);
    } catch {
      // An unusable <base> is ignored, as browsers do.
    }
  }
  return page;
}

/** cyrb53: a fast 53-bit string hash (collision odds ~n^2/2^54: about 1e-4 for a million pairs). */
export function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

interface WatLink {
  path?: unknown;
  url?: unknown;
  alt?: unknown;
}

/** `Envelope.Payload-Metadata.HTTP-Response-Metadata.HTML-Metadata`, or null. */
export function htmlMetadataOf(wat: unknown): { Head?: { Base?: unknown }; Links?: unknown } | null {
  const env = (wat as { Envelope?: Record<string, unknown> } | null)?.Envelope;
  const payload = env?.['Payload-Metadata'] as Record<string, unknown> | undefined;
  const response = payload?.['HTTP-Response-Metadata'] as Record<string, unknown> | undefined;
  const html = response?.['HTML-Metadata'];
  return html && typeof html === 'object' ? (html as { Head?: { Base?: unknown }; Links?: unknown }) : null;
}

/** Longest page URL a candidate keeps (the WAT result schema's limit too). The page URL is provenance only, so a
 * longer one is left out (empty) rather than failing the whole job's result or being stored cut. */
export const MAX_PAGE_URL_CHARS = 8192;

/**
 * Applies the rules to one parsed WAT record of a page. Counts every `IMG@/src` link in `state`
 * and returns the candidates that pass (each new (url, alt) once per job when `dedupe` is on).
 */
export function candidatesFromWat(
  wat: unknown,
  pageUrl: string,
  rules: ExtractRules,
  state: ExtractState,
  detect: LanguageDetector | null,
): Candidate[] {
  const html = htmlMetadataOf(wat);
  const links = html?.Links;
  if (!Array.isArray(links)) return [];
  const out: Candidate[] = [];
  const keptPageUrl = pageUrl.length <= MAX_PAGE_URL_CHARS ? pageUrl : '';
  let base: URL | null | undefined;
  for (const l of links as WatLink[]) {
    if (!l || l.path !== 'IMG@/src') continue;
    state.imgLinks++;
    const rawAlt = typeof l.alt === 'string' ? l.alt : '';
    if (!NON_SPACE.test(rawAlt)) {
      state.dropped.noAlt++;
      continue;
    }
    state.withAlt++;
    const alt = normaliseAlt(rawAlt, rules);
    if (!alt) {
      state.dropped.shortAlt++;
      continue;
    }
    if (base === undefined) base = resolveBase(pageUrl, html?.Head?.Base, rules);
    const verdict = normaliseImageUrl(typeof l.url === 'string' ? l.url : '', base, rules);
    if (!verdict.ok) {
      state.dropped[verdict.drop]++;
      continue;
    }
    if (rules.dedupe) {
      const key = hash53(verdict.url + '\u0000' + alt);
      if (state.seen.has(key)) {
        state.dropped.duplicate++;
        continue;
      }
      state.seen.add(key);
    }
    const guess = detect ? detect(alt) : { language: '', score: 0 };
    out.push({ url: verdict.url, alt, pageUrl: keptPageUrl, language: guess.language, languageScore: guess.score });
  }
  return out;
}
