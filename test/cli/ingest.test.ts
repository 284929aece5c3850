import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { COMMON_CRAWL_BASE, crawlPathsUrl, watUrlsFromListing } from '../../server/cli/commands/ingest.ts';

const listing = 'crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/wat/CC-MAIN-20240517233122-20240518023122-00000.warc.wat.gz\n\n# comment\nhttps://mirror.example/x.warc.wat.gz\r\n';

describe('ingest listing', () => {
  it('finds a crawl listing where Common Crawl publishes it', () => {
    expect(crawlPathsUrl('CC-MAIN-2024-22')).toBe('https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-22/wat.paths.gz');
  });
  it('reads gzipped and plain listings the same, resolving relative paths against the base', () => {
    const want = [
      `${COMMON_CRAWL_BASE}crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/wat/CC-MAIN-20240517233122-20240518023122-00000.warc.wat.gz`,
      'https://mirror.example/x.warc.wat.gz',
    ];
    expect(watUrlsFromListing(new TextEncoder().encode(listing), COMMON_CRAWL_BASE)).toEqual(want);
    expect(watUrlsFromListing(gzipSync(listing), COMMON_CRAWL_BASE)).toEqual(want);
    expect(watUrlsFromListing(gzipSync('a/b.wat.gz\n'), 'http://127.0.0.1:9/base/')).toEqual(['http://127.0.0.1:9/base/a/b.wat.gz']);
  });
});
