import { describe, expect, it } from 'vitest';
import { decodeHtmlEntities } from '../../shared/wat/html.ts';

describe('decodeHtmlEntities', () => {
  it('decodes named references with a semicolon', () => {
    expect(decodeHtmlEntities('a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &copy; &hellip; &NotEqualTilde;')).toBe(
      'a & b <c> "d" \'e\' © … \u2242\u0338',
    );
  });
  it('decodes decimal and hex references, with the Windows-1252 fix-ups and U+FFFD for invalid ones', () => {
    expect(decodeHtmlEntities('&#233;&#xE9;&#XE9;&#128512;&#150;&#0;&#x110000;&#xD800;')).toBe('ééé😀–\ufffd\ufffd\ufffd');
  });
  it('decodes legacy names without a semicolon unless a letter, digit or = follows (attribute rule)', () => {
    expect(decodeHtmlEntities('fish &amp chips')).toBe('fish & chips');
    expect(decodeHtmlEntities('&eacute ')).toBe('é ');
    expect(decodeHtmlEntities('?a=1&copy=2&ampx')).toBe('?a=1&copy=2&ampx');
    expect(decodeHtmlEntities('x&amp')).toBe('x&');
  });
  it('leaves unknown names and bare ampersands alone', () => {
    expect(decodeHtmlEntities('&bogus; & &; &#; &#x;')).toBe('&bogus; & &; &#; &#x;');
    expect(decodeHtmlEntities('no refs')).toBe('no refs');
  });
  it('decodes only once (no double decoding)', () => {
    expect(decodeHtmlEntities('&amp;amp;')).toBe('&amp;');
  });
});
