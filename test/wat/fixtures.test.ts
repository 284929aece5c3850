// The real Common Crawl samples: counts from test/fixtures/SOURCES.md, both inflaters, plain and gzip.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { extractWat } from '../../shared/wat/extract.ts';
import { createWebMemberInflater } from '../../shared/wat/gzip.ts';
import { createEldDetector } from '../../shared/wat/language.ts';
import type { Candidate } from '../../shared/wat/types.ts';
import { createZlibMemberInflater } from '../../server/wat/zlib-inflater.ts';
import { WARC_2014_GZ, WAT_2014, WAT_2014_GZ, WAT_2024_GZ, bytesOf, chunked } from './helpers.ts';

const detect = await createEldDetector('small');
const run = promisify(execFile);

async function extract(bytes: Uint8Array, chunkSize: number, web = false) {
  const found: Candidate[] = [];
  const summary = await extractWat(chunked(bytes, chunkSize), {
    inflater: web ? createWebMemberInflater() : createZlibMemberInflater(),
    detectLanguage: detect,
    onCandidates: (b) => void found.push(...b),
  });
  return { summary, found };
}

const page = 'http://0pointer.de/photos/?gallery=Australia&photo=496';

describe('real Common Crawl WAT samples', () => {
  for (const [name, file] of [
    ['2014-35 gzip', WAT_2014_GZ],
    ['2014-35 uncompressed', WAT_2014],
  ] as const) {
    for (const chunkSize of [1, 7, 1000, 1 << 20]) {
      it(`${name} in ${chunkSize}-byte chunks gives the SOURCES.md counts`, async () => {
        const { summary, found } = await extract(bytesOf(file), chunkSize);
        expect(summary).toMatchObject({ records: 9, metadataRecords: 8, imgLinks: 4, withAlt: 4, errors: 0, damaged: false });
        expect(summary.format).toBe(file.endsWith('.gz') ? 'gzip' : 'plain');
        expect(summary.bytes).toBe(bytesOf(file).byteLength);
        expect(summary.inflatedBytes).toBe(18533);
        // 4 IMG links: "496" and "Next" are under 5 characters; "Previous" and the licence badge pass.
        expect(summary.dropped.shortAlt).toBe(2);
        expect(found.map((c) => [c.url, c.alt, c.pageUrl])).toEqual([
          ['http://0pointer.de/photos/galleries/Australia/thumbs/img-495.jpg', 'Previous', page],
          ['http://creativecommons.org/images/public/somerights20.png', 'Creative Commons License', page],
        ]);
        expect(found[1]!.language).toBe('en');
        expect(found[1]!.languageScore).toBeGreaterThan(0.5);
      });
    }
  }

  it('2014-35 with min alt 1 keeps the relative ./galleries link, resolved against the page', async () => {
    const summary = await extractWat(chunked(bytesOf(WAT_2014_GZ)), {
      inflater: createZlibMemberInflater(),
      detectLanguage: null,
      rules: { minAltChars: 1 },
      onCandidates: (b) => {
        expect(b.map((c) => c.url)).toContain('http://0pointer.de/photos/galleries/Australia/lq/img-496.jpg');
        expect(b.find((c) => c.alt === '496')?.language).toBe('');
      },
    });
    expect(summary.candidates).toBe(4);
  });

  it('2024-22 whirlwind WAT: 2 records, 1 metadata, no links', async () => {
    for (const web of [false, true]) {
      const { summary } = await extract(bytesOf(WAT_2024_GZ), 333, web);
      expect(summary).toMatchObject({ records: 2, metadataRecords: 1, imgLinks: 0, withAlt: 0, candidates: 0, errors: 0, damaged: false });
    }
  });

  it('the web (DecompressionStream) inflater gives the same result as zlib', async () => {
    const a = await extract(bytesOf(WAT_2014_GZ), 500, true);
    const b = await extract(bytesOf(WAT_2014_GZ), 500, false);
    expect(a.found).toEqual(b.found);
    expect({ ...a.summary, seconds: 0 }).toEqual({ ...b.summary, seconds: 0 });
  });

  it('a WARC (not WAT) file reads cleanly: its metadata records are not JSON, so no candidates', async () => {
    const { summary } = await extract(bytesOf(WARC_2014_GZ), 4096);
    expect(summary).toMatchObject({ records: 13, metadataRecords: 4, imgLinks: 0, errors: 0, damaged: false });
  });
});

describe('crawlswarm extract', () => {
  const cli = ['--import', 'tsx', 'server/cli/crawlswarm.mjs', 'extract'];
  it('prints the summary as the last stdout line and exits 0 on the clean fixture', async () => {
    const { stdout } = await run('node', [...cli, WAT_2014_GZ]);
    const last = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ records: 9, metadataRecords: 8, imgLinks: 4, withAlt: 4, candidates: 2, errors: 0, damaged: false, bytes: 8248 });
    expect(typeof last.seconds).toBe('number');
  });

  it('exits 3 on a truncated file and still reports what it read', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/wat-cli-');
    // Cut inside the 8th of 9 members (offsets 7321..8248 hold the 9th); the IMG links are in the 7th.
    writeFileSync(`${dir}/cut.wat.gz`, bytesOf(WAT_2014_GZ).subarray(0, 7000));
    const err = await run('node', [...cli, `${dir}/cut.wat.gz`, '--out', `${dir}/c.jsonl`]).catch((e) => e);
    expect(err.code).toBe(3);
    const last = JSON.parse(err.stdout.trim().split('\n').at(-1));
    expect(last.damaged).toBe(true);
    expect(last.errorsByReason).toEqual({ truncated_gzip: 1 });
    expect(last.records).toBe(7);
    expect(last.imgLinks).toBe(4);
    expect(readLines(`${dir}/c.jsonl`)).toHaveLength(2);
  });

  it('--range splits the file by gzip member starts: 0-3000 and 3000- give 4 + 5 = 9 records', async () => {
    // Members start at 0, 299, 1029, 2047 | 3077, 3914, 4808, 6612, 7321.
    const a = JSON.parse((await run('node', [...cli, WAT_2014_GZ, '--range', '0-3000', '--lang', 'none'])).stdout.trim().split('\n').at(-1)!);
    const b = JSON.parse((await run('node', [...cli, WAT_2014_GZ, '--range', '3000-', '--lang', 'none'])).stdout.trim().split('\n').at(-1)!);
    expect([a.records, b.records]).toEqual([4, 5]);
    expect([a.errors, b.errors]).toEqual([0, 0]);
    expect(a.imgLinks + b.imgLinks).toBe(4);
  });

  it('exits 1 with a reason for a missing file, 2 for a bad range', async () => {
    const a = await run('node', [...cli, '/nonexistent/x.wat.gz']).catch((e) => e);
    expect(a.code).toBe(1);
    expect(JSON.parse(a.stdout.trim())).toMatchObject({ ok: false, reason: 'not_found' });
    const b = await run('node', [...cli, WAT_2014_GZ, '--range', '9-3']).catch((e) => e);
    expect(b.code).toBe(2);
  });
});

function readLines(file: string): unknown[] {
  const text = readFileSync(file, 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}
