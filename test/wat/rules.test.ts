// One test per extraction rule, through the full pipeline (records -> candidates) and the pure helpers.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, createExtractState, candidatesFromWat, hash53, normaliseAlt, normaliseImageUrl, resolveBase } from '../../shared/wat/candidates.ts';
import { extractWat, type ExtractOptions } from '../../shared/wat/extract.ts';
import { createEldDetector, laionSubset } from '../../shared/wat/language.ts';
import type { Candidate } from '../../shared/wat/types.ts';
import { WatResult } from '../../shared/jobs/wat.ts';
import { createZlibMemberInflater } from '../../server/wat/zlib-inflater.ts';
import { chunked, concat, gzipMembers, watJson, watRecord, type Link } from './helpers.ts';

const PAGE = 'https://example.org/dir/page.html?q=1';

async function candidatesOf(links: Link[], opts: { base?: string; page?: string } & ExtractOptions = {}) {
  const found: Candidate[] = [];
  const summary = await extractWat(chunked(gzipMembers([watRecord(opts.page ?? PAGE, links, { base: opts.base })])), {
    inflater: createZlibMemberInflater(),
    detectLanguage: null,
    ...opts,
    onCandidates: (b) => void found.push(...b),
  });
  return { found, summary };
}

describe('alt text', () => {
  it('decodes HTML character references in alt', async () => {
    const { found } = await candidatesOf([{ url: 'a.jpg', alt: 'Caf&eacute; &amp; cr&#232;me &#x2014; &quot;ok&quot;' }]);
    expect(found[0]!.alt).toBe('Café & crème — "ok"');
  });

  it('collapses whitespace runs (tabs, newlines, &nbsp;) to one space and trims', async () => {
    const { found } = await candidatesOf([{ url: 'a.jpg', alt: '  A\t\tred \n\r\n  car&nbsp;&nbsp;here  ' }]);
    expect(found[0]!.alt).toBe('A red car here');
  });

  it('keeps alt texts of at least 5 characters (counted after normalisation, in code points)', async () => {
    const { found, summary } = await candidatesOf([
      { url: '1.jpg', alt: 'abcd' },
      { url: '2.jpg', alt: 'abcde' },
      { url: '3.jpg', alt: '  a   b  ' }, // "a b": 3 characters
      { url: '4.jpg', alt: '😀😀😀😀' }, // 4 code points, 8 UTF-16 units
      { url: '5.jpg', alt: '😀😀😀😀😀' },
      { url: '6.jpg', alt: 'a&amp;b' }, // "a&b": 3
    ]);
    expect(found.map((c) => c.url.split('/').pop())).toEqual(['2.jpg', '5.jpg']);
    expect(summary.dropped.shortAlt).toBe(4);
  });

  it('a missing or blank alt counts as an IMG link but not withAlt', async () => {
    const { summary } = await candidatesOf([{ url: 'a.jpg' }, { url: 'b.jpg', alt: '   ' }, { url: 'c.jpg', alt: 'hello world' }]);
    expect(summary).toMatchObject({ imgLinks: 3, withAlt: 1, candidates: 1 });
    expect(summary.dropped.noAlt).toBe(2);
  });

  it('cuts alt at 2000 code points without splitting a surrogate pair', () => {
    const long = 'x'.repeat(1999) + '😀' + 'y'.repeat(50);
    const alt = normaliseAlt(long, { ...DEFAULT_RULES });
    expect([...alt]).toHaveLength(2000);
    expect(alt.endsWith('😀')).toBe(true);
    expect(normaliseAlt('z'.repeat(5000), { ...DEFAULT_RULES })).toHaveLength(2000);
  });
});

describe('image url', () => {
  it('keeps the page url as provenance; one too long for a result is left empty, its images still count', async () => {
    const { found } = await candidatesOf([{ url: '/a.jpg', alt: 'short page' }]);
    expect(found[0]!.pageUrl).toBe(PAGE);
    const long = `https://example.org/${'p'.repeat(9000)}`;
    const r = await candidatesOf([{ url: '/a.jpg', alt: 'a very long page url' }], { page: long });
    expect(r.found.map((c) => [c.url, c.pageUrl])).toEqual([['https://example.org/a.jpg', '']]);
    expect(WatResult.shape.candidates.element.safeParse(r.found[0]).success).toBe(true);
    expect(WatResult.shape.candidates.element.safeParse({ ...r.found[0], pageUrl: long }).success).toBe(false);
  });
  it('resolves relative urls against the page url (WARC-Target-URI)', async () => {
    const { found } = await candidatesOf([
      { url: 'img/a.jpg', alt: 'relative one' },
      { url: '../b.png', alt: 'parent path' },
      { url: '/c.webp', alt: 'root relative' },
      { url: '//cdn.example.net/d.jpg', alt: 'protocol relative' },
      { url: '?x=1', alt: 'query only' },
    ]);
    expect(found.map((c) => c.url)).toEqual([
      'https://example.org/dir/img/a.jpg',
      'https://example.org/b.png',
      'https://example.org/c.webp',
      'https://cdn.example.net/d.jpg',
      'https://example.org/dir/page.html?x=1',
    ]);
    expect(found[0]!.pageUrl).toBe(PAGE);
  });

  it('uses <base href> (HTML-Metadata.Head.Base), itself resolved against the page url', async () => {
    const abs = await candidatesOf([{ url: 'a.jpg', alt: 'with a base' }], { base: 'http://static.example.com/assets/' });
    expect(abs.found[0]!.url).toBe('http://static.example.com/assets/a.jpg');
    const rel = await candidatesOf([{ url: 'a.jpg', alt: 'with a base' }], { base: '/media/' });
    expect(rel.found[0]!.url).toBe('https://example.org/media/a.jpg');
    const bad = await candidatesOf([{ url: 'a.jpg', alt: 'with a base' }], { base: 'http://[bad' });
    expect(bad.found[0]!.url).toBe('https://example.org/dir/a.jpg');
  });

  it('decodes entities in the url (Common Crawl keeps &amp; as written)', async () => {
    const { found } = await candidatesOf([{ url: 'img.php?id=3&amp;size=large&amp;copy=1', alt: 'dynamic image' }]);
    expect(found[0]!.url).toBe('https://example.org/dir/img.php?id=3&size=large&copy=1');
  });

  it('drops the fragment', async () => {
    const { found } = await candidatesOf([{ url: 'a.jpg#section-2', alt: 'fragment here' }]);
    expect(found[0]!.url).toBe('https://example.org/dir/a.jpg');
  });

  it('keeps http and https only: data:, javascript:, ftp:, blob: are dropped', async () => {
    const { found, summary } = await candidatesOf([
      { url: 'data:image/png;base64,iVBORw0KGgo=', alt: 'inline pixel' },
      { url: 'javascript:void(0)', alt: 'script link' },
      { url: 'ftp://example.org/a.jpg', alt: 'ftp image' },
      { url: 'HTTP://EXAMPLE.ORG/UPPER.JPG', alt: 'upper case scheme' },
    ]);
    expect(found.map((c) => c.url)).toEqual(['http://example.org/UPPER.JPG']);
    expect(summary.dropped.protocol).toBe(3);
  });

  it('drops urls over 2048 characters (after resolution)', async () => {
    const base = 'https://example.org/dir/';
    const fits = 'a'.repeat(2048 - base.length - 4) + '.jpg';
    const over = 'a'.repeat(2048 - base.length - 3) + '.jpg';
    const { found, summary } = await candidatesOf([
      { url: fits, alt: 'just fits' },
      { url: over, alt: 'one too long' },
    ]);
    expect(found.map((c) => c.url.length)).toEqual([2048]);
    expect(summary.dropped.longUrl).toBe(1);
  });

  it('drops paths ending in .svg or .gif, case-insensitive, but not a query that mentions them', async () => {
    const { found, summary } = await candidatesOf([
      { url: 'logo.svg', alt: 'vector logo' },
      { url: 'anim.GIF', alt: 'animated thing' },
      { url: 'spinner.gif?v=2', alt: 'spinner query' },
      { url: 'thumb.php?src=x.gif', alt: 'thumbnail script' },
      { url: 'photo.jpg', alt: 'plain photo' },
    ]);
    expect(found.map((c) => c.url.split('/').pop())).toEqual(['thumb.php?src=x.gif', 'photo.jpg']);
    expect(summary.dropped.extension).toBe(3);
  });

  it('drops empty and unparseable urls', async () => {
    const { summary } = await candidatesOf([
      { url: '', alt: 'empty source' },
      { url: 'http://[::1', alt: 'broken host' },
    ]);
    expect(summary.dropped.badUrl).toBe(2);
    expect(summary.candidates).toBe(0);
  });

  it('relative urls on a page whose url is not absolute are dropped, absolute ones kept', async () => {
    const { found } = await candidatesOf(
      [
        { url: 'a.jpg', alt: 'relative one' },
        { url: 'https://x.org/b.jpg', alt: 'absolute one' },
      ],
      { page: 'not a url' },
    );
    expect(found.map((c) => c.url)).toEqual(['https://x.org/b.jpg']);
  });
});

describe('deduplication within a job', () => {
  it('keeps one candidate per (url, alt), across records; same url with another alt is kept', async () => {
    const recs = [
      watRecord(PAGE, [
        { url: 'a.jpg', alt: 'first alt' },
        { url: 'a.jpg', alt: 'first alt' },
        { url: 'a.jpg#x', alt: 'first  alt ' }, // same after fragment drop and whitespace collapse
        { url: 'a.jpg', alt: 'second alt' },
      ]),
      watRecord('https://example.org/dir/other.html', [{ url: 'a.jpg', alt: 'first alt' }]),
    ];
    const found: Candidate[] = [];
    const summary = await extractWat(chunked(gzipMembers(recs)), { inflater: createZlibMemberInflater(), detectLanguage: null, onCandidates: (b) => void found.push(...b) });
    expect(found.map((c) => c.alt)).toEqual(['first alt', 'second alt']);
    expect(summary.dropped.duplicate).toBe(3);
  });

  it('can be turned off', async () => {
    const { found } = await candidatesOf([{ url: 'a.jpg', alt: 'same alt' }, { url: 'a.jpg', alt: 'same alt' }], { rules: { dedupe: false } });
    expect(found).toHaveLength(2);
  });

  it('hash53 separates close keys', () => {
    expect(hash53('https://a/1.jpg\u0000alt one')).not.toBe(hash53('https://a/1.jpg\u0000alt onf'));
    expect(hash53('x')).toBe(hash53('x'));
    expect(Number.isSafeInteger(hash53('anything'))).toBe(true);
  });
});

describe('language', () => {
  it('stores a code and a confidence; LAION split en / multi / nolang', async () => {
    const detect = await createEldDetector('small');
    const { found, summary } = await candidatesOf(
      [
        { url: '1.jpg', alt: 'A red sports car parked on the street' },
        { url: '2.jpg', alt: 'Ein Hund spielt im Park mit einem Ball' },
        { url: '3.jpg', alt: 'IMG_1234.JPG' },
      ],
      { detectLanguage: detect },
    );
    expect(found.map((c) => c.language)).toEqual(['en', 'de', '']);
    expect(found[0]!.languageScore).toBeGreaterThan(0.5);
    expect(found[0]!.languageScore).toBeLessThanOrEqual(1);
    expect(summary.languages).toEqual({ en: 1, multi: 1, nolang: 1 });
    expect([laionSubset('en'), laionSubset('fr'), laionSubset('')]).toEqual(['en', 'multi', 'nolang']);
  });

  it('detectLanguage: null gives language "" and score 0', async () => {
    const { found } = await candidatesOf([{ url: '1.jpg', alt: 'A red sports car' }]);
    expect(found[0]).toMatchObject({ language: '', languageScore: 0 });
  });
});

describe('pure helpers', () => {
  it('normaliseImageUrl and resolveBase', () => {
    const base = resolveBase('http://h.org/a/b.html', '../c/', { ...DEFAULT_RULES });
    expect(base?.href).toBe('http://h.org/c/');
    expect(normaliseImageUrl(' x.jpg ', base, { ...DEFAULT_RULES })).toEqual({ ok: true, url: 'http://h.org/c/x.jpg' });
    expect(normaliseImageUrl('x.svg', base, { ...DEFAULT_RULES })).toEqual({ ok: false, drop: 'extension' });
  });

  it('candidatesFromWat ignores non-IMG links and records without HTML metadata', () => {
    const state = createExtractState();
    const wat = JSON.parse(watJson(PAGE, [{ url: 'a.jpg', alt: 'image alt', path: 'A@/href' }, { url: 'b.jpg', alt: 'image alt' }]));
    expect(candidatesFromWat(wat, PAGE, { ...DEFAULT_RULES }, state, null).map((c) => c.url)).toEqual(['https://example.org/dir/b.jpg']);
    expect(candidatesFromWat({ Envelope: {} }, PAGE, { ...DEFAULT_RULES }, state, null)).toEqual([]);
    expect(candidatesFromWat(null, PAGE, { ...DEFAULT_RULES }, state, null)).toEqual([]);
    expect(state.imgLinks).toBe(1);
  });

  it('rules are configurable: min alt, extensions, protocols', async () => {
    const { found } = await candidatesOf(
      [
        { url: 'a.svg', alt: 'ab' },
        { url: 'ftp://h.org/b.jpg', alt: 'ftp one' },
      ],
      { rules: { minAltChars: 2, dropExtensions: [], protocols: ['http:', 'https:', 'ftp:'] } },
    );
    expect(found.map((c) => c.url)).toEqual(['https://example.org/dir/a.svg', 'ftp://h.org/b.jpg']);
  });
});

void concat;
