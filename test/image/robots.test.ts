import { describe, expect, it } from 'vitest';
import { checkXRobotsTag } from '../../shared/image/robots.ts';

describe('checkXRobotsTag', () => {
  const cases: Array<[string | string[] | undefined, boolean]> = [
    [undefined, false],
    ['noai', true],
    ['NoImageAI', true],
    ['noindex, nofollow', true],
    ['noimageindex', true],
    ['nofollow, noarchive', false],
    ['all', false],
    ['crawlswarm: noai', true],
    ['CrawlSwarm: noimageai, nofollow', true],
    ['otherbot: noai', false],
    ['googlebot: noindex', false],
    [['googlebot: noindex', 'crawlswarm: noimageindex'], true],
    [['googlebot: noindex', 'nofollow'], false],
    ['unavailable_after: 25 Jun 2010 15:00:00 PST', false],
    ['unavailable_after: 25 Jun 2010 15:00:00 PST, noai', true],
    ['max-image-preview: large', false],
    ['*: noai', true],
  ];
  for (const [header, optOut] of cases) {
    it(`${JSON.stringify(header)} -> ${optOut ? 'opt-out' : 'allowed'}`, () => {
      expect(checkXRobotsTag(header).optOut).toBe(optOut);
    });
  }
  it('names the directive that decided', () => {
    expect(checkXRobotsTag('crawlswarm: noai')).toEqual({ optOut: true, matched: 'crawlswarm: noai' });
    expect(checkXRobotsTag('noimageindex')).toEqual({ optOut: true, matched: 'noimageindex' });
  });
  it('another token and directive list can be passed', () => {
    expect(checkXRobotsTag('img2dataset: noai', 'img2dataset').optOut).toBe(true);
    expect(checkXRobotsTag('noindex', 'crawlswarm', ['noai']).optOut).toBe(false);
  });
});
