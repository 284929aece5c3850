// Builders for synthetic WAT input: real record layout (CRLF, Content-Length, one gzip member per record).
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

export const FIXTURES = new URL('../fixtures/wat/', import.meta.url).pathname;
export const WAT_2014 = FIXTURES + 'cc-main-2014-35/CC-MAIN-20140820021334-00006-ip-10-180-136-8.ec2.internal.warc.wat';
export const WAT_2014_GZ = WAT_2014 + '.gz';
export const WAT_2024_GZ = FIXTURES + 'cc-main-2024-22/whirlwind.warc.wat.gz';
export const WARC_2014_GZ = FIXTURES + 'cc-main-2014-35/CC-MAIN-20140820021334-00006-ip-10-180-136-8.ec2.internal.warc.gz';

const enc = new TextEncoder();

export function bytesOf(file: string): Uint8Array {
  return new Uint8Array(readFileSync(file));
}

export interface Link {
  url?: string;
  alt?: string;
  path?: string;
}

let serial = 0;

/** One WARC record; `contentLength` overrides the true length to build broken input. */
export function warcRecord(
  headers: Record<string, string>,
  body: string | Uint8Array,
  opts: { contentLength?: number | string } = {},
): Uint8Array {
  const b = typeof body === 'string' ? enc.encode(body) : body;
  let head = 'WARC/1.0\r\n';
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  head += `Content-Length: ${opts.contentLength ?? b.byteLength}\r\n\r\n`;
  return concat([enc.encode(head), b, enc.encode('\r\n\r\n')]);
}

/** The JSON payload of a WAT metadata record for a page's response. */
export function watJson(pageUrl: string, links: Link[], base?: string): string {
  const head: Record<string, unknown> = { Title: 'test page' };
  if (base !== undefined) head.Base = base;
  return JSON.stringify({
    Envelope: {
      Format: 'WARC',
      'WARC-Header-Metadata': { 'WARC-Type': 'response', 'WARC-Target-URI': pageUrl },
      'Payload-Metadata': {
        'HTTP-Response-Metadata': {
          'HTML-Metadata': { Head: head, Links: links.map((l) => ({ path: 'IMG@/src', ...l })) },
        },
      },
    },
  });
}

/** A WAT metadata record (WARC-Type: metadata, JSON body). */
export function watRecord(pageUrl: string, links: Link[], opts: { base?: string; body?: string; contentLength?: number } = {}): Uint8Array {
  serial++;
  return warcRecord(
    {
      'WARC-Type': 'metadata',
      'WARC-Target-URI': pageUrl,
      'WARC-Record-ID': `<urn:uuid:00000000-0000-4000-8000-${String(serial).padStart(12, '0')}>`,
      'Content-Type': 'application/json',
    },
    opts.body ?? watJson(pageUrl, links, opts.base),
    { contentLength: opts.contentLength },
  );
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Common Crawl layout: each record its own gzip member. */
export function gzipMembers(records: Uint8Array[]): Uint8Array {
  return concat(records.map((r) => new Uint8Array(gzipSync(r))));
}

/** Feeds bytes as an async iterable of chunks of `size` bytes (tiny sizes test boundaries). */
export async function* chunked(bytes: Uint8Array, size = 4096): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.slice(i, i + size);
}

/** Browser-style input: a web ReadableStream of chunks. */
export function readableOf(bytes: Uint8Array, size = 4096): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(i, i + size));
      i += size;
    },
  });
}
