// A small fixture web for fetch, URL-job and browser tests: real images plus hostile cases, served on one
// or several loopback addresses (127.0.0.2, 127.0.0.3, ... all reach this machine on Linux) so that tests
// see several distinct "hosts", each with CORS on or off, and every request is logged so tests can assert
// politeness (requests per path, requests in flight per host, connections cut early).
//
// Routes (any host):
//   /images/<file>              a file of test/fixtures/images (?delayMs=N waits before answering,
//                               ?xrobots=V adds an X-Robots-Tag header)
//   /hostile/redirect?to=URL    302 to URL (&code=301/303/307/308)
//   /hostile/loop-a, loop-b     redirect to each other
//   /hostile/chain/N            N redirects, then the rocket JPEG
//   /hostile/pixel.png          1x1 PNG (67 bytes), /hostile/pixel.gif 1x1 GIF
//   /hostile/bomb.png           PNG whose IHDR claims 100000x100000 (padded past 5 KB)
//   /hostile/endless.jpg        JPEG start, then comment segments forever
//   /hostile/huge-length.jpg    Content-Length 50 MB, then the same endless body
//   /hostile/stall.jpg          headers and 2 KB of JPEG, then nothing
//   /hostile/stall-headers      accepts the request and never answers
//   /hostile/trickle.jpg        the rocket JPEG, 512 bytes every 50 ms (each read is quick; the whole is not)
//   /hostile/html-as-jpeg       6 KB of HTML served as image/jpeg
//   /hostile/noai               the rocket JPEG with X-Robots-Tag: noai
//   /hostile/noai-scoped        ... with X-Robots-Tag: crawlswarm: noimageai
//   /hostile/noai-other-bot     ... with X-Robots-Tag: otherbot: noai (must be fetched)
//   /hostile/status/CODE        that status (429 has Retry-After: 3600)
//   /hostile/truncated.jpg      the first half of the rocket JPEG
//   /hostile/gif-as-jpeg        a real 1x1 GIF padded to 6 KB, served as image/jpeg
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

export const FIXTURE_IMAGES_DIR = join(import.meta.dirname, '..', 'fixtures', 'images');

export interface FixtureHostSpec {
  ip: string;
  /** Send `Access-Control-Allow-Origin: *` on every answer (browser tests need both kinds). */
  cors?: boolean;
}
export interface FixtureHost {
  ip: string;
  port: number;
  /** Read on every request: flip it to change a host's CORS answer mid-test. */
  cors: boolean;
  /** `http://ip:port` */
  origin: string;
}
export interface FixtureRequest {
  host: string;
  path: string;
  url: string;
  hostHeader: string | undefined;
  userAgent: string | undefined;
  startedMs: number;
  /** Filled in when the answer ends: whether the client went away before the server finished. */
  closedEarly: boolean | null;
  bytesSent: number;
}
export type FixtureHandler = (req: IncomingMessage, res: ServerResponse, log: FixtureRequest) => void | Promise<void>;

export interface FixtureWeb {
  hosts: FixtureHost[];
  /** URL of `path` on a host given by index or IP. */
  urlFor(host: number | string, path: string): string;
  /** Every request so far, in arrival order. */
  requests: FixtureRequest[];
  /** Requests for exactly this path (without query), optionally on one host. */
  count(path: string, host?: number | string): number;
  /** Highest number of answers in progress at once on a host (or over all hosts). */
  maxInFlight(host?: number | string): number;
  /** Adds or replaces a route (exact path match, before the built-in routes). */
  route(path: string, handler: FixtureHandler): void;
  /** Resolves once every request logged so far has ended (server side). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.json': 'application/json', '.gif': 'image/gif' };

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}
function png(width: number, height: number, extra: Buffer[] = [], idat?: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...extra.map((e) => pngChunk('tEXt', e)),
    // One filtered RGB row of a 1x1 image, zlib-compressed (stored block).
    pngChunk('IDAT', idat ?? Buffer.from([0x78, 0x01, 0x01, 0x04, 0x00, 0xfb, 0xff, 0x00, 0xff, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00])),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Tiny hostile payloads, built in code so their properties are plain to see. */
export const HOSTILE = {
  pixelPng: png(1, 1),
  pixelGif: Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64'),
  bombPng: png(100_000, 100_000, [Buffer.concat([Buffer.from('Comment\0'), Buffer.alloc(8 * 1024, 0x61)])]),
  html: Buffer.from('<!doctype html><html><head><title>not an image</title></head><body>' + '<p>hello</p>'.repeat(520) + '</body></html>'),
  /** SOI, then a 16-byte comment segment: a valid JPEG start whose frame header has not come yet. */
  jpegStart: Buffer.from([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x10, ...Buffer.from('endless-fixtur')]),
  /** One maximal comment segment (65,537 bytes): an endless body is these, one after another, so it stays a
   * well-formed JPEG prefix forever and only the size cap can stop it. */
  jpegFiller: Buffer.concat([Buffer.from([0xff, 0xfe, 0xff, 0xff]), Buffer.alloc(65_533, 0x20)]),
};

export async function startFixtureWeb(options: { hosts?: FixtureHostSpec[]; imagesDir?: string } = {}): Promise<FixtureWeb> {
  const specs = options.hosts ?? [{ ip: '127.0.0.1', cors: true }];
  const imagesDir = options.imagesDir ?? FIXTURE_IMAGES_DIR;
  const files = new Map<string, Buffer>();
  for (const f of readdirSync(imagesDir)) files.set(f, readFileSync(join(imagesDir, f)));
  const rocket = files.get('skimage-rocket.jpg')!;
  // A real GIF followed by padding (decoders stop at the trailer), so it is not too-small either.
  const gifBig = Buffer.concat([HOSTILE.pixelGif, Buffer.alloc(6 * 1024)]);

  const requests: FixtureRequest[] = [];
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const pending = new Set<Promise<void>>();
  const extra = new Map<string, FixtureHandler>();
  const hosts: FixtureHost[] = [];
  const servers: Server[] = [];

  const hostOf = (h: number | string): FixtureHost => {
    const found = typeof h === 'number' ? hosts[h] : hosts.find((x) => x.ip === h);
    if (!found) throw new Error(`no fixture host ${h}`);
    return found;
  };

  function send(res: ServerResponse, status: number, type: string | null, body: Buffer, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...(type ? { 'content-type': type } : {}), 'content-length': String(body.length), ...headers });
    res.end(body);
  }

  function endless(res: ServerResponse, headers: Record<string, string>): void {
    res.writeHead(200, { 'content-type': 'image/jpeg', ...headers });
    res.write(HOSTILE.jpegStart);
    const chunk = HOSTILE.jpegFiller;
    const pump = () => {
      while (!res.destroyed && res.write(chunk)) {
        /* keep writing until the socket pushes back */
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  }

  async function handle(host: FixtureHost, req: IncomingMessage, res: ServerResponse, log: FixtureRequest): Promise<void> {
    const u = new URL(req.url ?? '/', host.origin);
    const path = u.pathname;
    const custom = extra.get(path);
    if (custom) return custom(req, res, log);
    if (path.startsWith('/images/')) {
      const name = decodeURIComponent(path.slice('/images/'.length));
      const body = files.get(name);
      if (!body) return send(res, 404, 'text/plain', Buffer.from('not found'));
      const delayMs = Number(u.searchParams.get('delayMs') ?? 0);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const robots = u.searchParams.get('xrobots');
      const ext = name.slice(name.lastIndexOf('.'));
      return send(res, 200, CONTENT_TYPES[ext] ?? 'application/octet-stream', body, robots ? { 'x-robots-tag': robots } : {});
    }
    const redirect = (to: string, code = 302) => send(res, code, 'text/plain', Buffer.from('moved'), { location: to });
    if (path === '/hostile/redirect') return redirect(u.searchParams.get('to') ?? '/', Number(u.searchParams.get('code') ?? 302));
    if (path === '/hostile/loop-a') return redirect('/hostile/loop-b');
    if (path === '/hostile/loop-b') return redirect('/hostile/loop-a');
    const chain = /^\/hostile\/chain\/(\d+)$/.exec(path);
    if (chain) {
      const n = Number(chain[1]);
      return n > 0 ? redirect(`/hostile/chain/${n - 1}`) : send(res, 200, 'image/jpeg', rocket);
    }
    const status = /^\/hostile\/status\/(\d{3})$/.exec(path);
    if (status) {
      const code = Number(status[1]);
      return send(res, code, 'text/plain', Buffer.from(`status ${code}`), code === 429 ? { 'retry-after': '3600' } : {});
    }
    switch (path) {
      case '/hostile/pixel.png':
        return send(res, 200, 'image/png', HOSTILE.pixelPng);
      case '/hostile/pixel.gif':
        return send(res, 200, 'image/gif', HOSTILE.pixelGif);
      case '/hostile/gif-as-jpeg':
        return send(res, 200, 'image/jpeg', gifBig);
      case '/hostile/bomb.png':
        return send(res, 200, 'image/png', HOSTILE.bombPng);
      case '/hostile/endless.jpg':
        return endless(res, {});
      case '/hostile/huge-length.jpg':
        return endless(res, { 'content-length': String(50 * 1024 * 1024) });
      case '/hostile/stall.jpg':
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(rocket.length) });
        res.write(rocket.subarray(0, 2048));
        return; // never ends: the client must time out
      case '/hostile/stall-headers':
        return; // never answers
      case '/hostile/trickle.jpg': {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(rocket.length) });
        let at = 0;
        const timer = setInterval(() => {
          if (res.destroyed || at >= rocket.length) {
            clearInterval(timer);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(rocket.subarray(at, (at += 512)));
        }, 50);
        res.once('close', () => clearInterval(timer));
        return;
      }
      case '/hostile/html-as-jpeg':
        return send(res, 200, 'image/jpeg', HOSTILE.html);
      case '/hostile/noai':
        return send(res, 200, 'image/jpeg', rocket, { 'x-robots-tag': 'noai' });
      case '/hostile/noai-scoped':
        return send(res, 200, 'image/jpeg', rocket, { 'x-robots-tag': 'crawlswarm: noimageai' });
      case '/hostile/noai-other-bot':
        return send(res, 200, 'image/jpeg', rocket, { 'x-robots-tag': 'otherbot: noai, noindex' });
      case '/hostile/truncated.jpg':
        return send(res, 200, 'image/jpeg', rocket.subarray(0, Math.floor(rocket.length / 2)));
      default:
        return send(res, 404, 'text/plain', Buffer.from('not found'));
    }
  }

  for (const spec of specs) {
    const host: FixtureHost = { ip: spec.ip, port: 0, cors: spec.cors ?? false, origin: '' };
    const server = createServer((req, res) => {
      const log: FixtureRequest = {
        host: host.ip,
        path: new URL(req.url ?? '/', 'http://x').pathname,
        url: req.url ?? '/',
        hostHeader: req.headers.host,
        userAgent: req.headers['user-agent'],
        startedMs: performance.now(),
        closedEarly: null,
        bytesSent: 0,
      };
      requests.push(log);
      // The socket may carry earlier answers (keep-alive): count only this one's bytes.
      const socketBytesAtStart = req.socket.bytesWritten;
      const now = (inFlight.get(host.ip) ?? 0) + 1;
      inFlight.set(host.ip, now);
      maxInFlight.set(host.ip, Math.max(now, maxInFlight.get(host.ip) ?? 0));
      if (host.cors) res.setHeader('access-control-allow-origin', '*');
      const done = new Promise<void>((resolve) => {
        res.once('close', () => {
          inFlight.set(host.ip, (inFlight.get(host.ip) ?? 1) - 1);
          log.closedEarly = !res.writableFinished;
          log.bytesSent = req.socket.bytesWritten - socketBytesAtStart;
          resolve();
        });
      });
      pending.add(done);
      void done.then(() => pending.delete(done));
      Promise.resolve(handle(host, req, res, log)).catch((err) => {
        if (!res.headersSent) send(res, 500, 'text/plain', Buffer.from(String(err)));
        else res.destroy();
      });
    });
    // Stalled answers must not keep close() waiting, nor Node's default timeouts cut them short.
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, spec.ip, () => resolve());
    });
    host.port = (server.address() as AddressInfo).port;
    host.origin = `http://${spec.ip}:${host.port}`;
    hosts.push(host);
    servers.push(server);
  }

  return {
    hosts,
    urlFor: (h, path) => hostOf(h).origin + (path.startsWith('/') ? path : '/' + path),
    requests,
    count: (path, h) => requests.filter((r) => r.path === path && (h === undefined || r.host === hostOf(h).ip)).length,
    maxInFlight: (h) => (h === undefined ? Math.max(0, ...maxInFlight.values()) : (maxInFlight.get(hostOf(h).ip) ?? 0)),
    route: (path, handler) => void extra.set(path, handler),
    settled: async () => {
      await Promise.all([...pending]);
    },
    close: async () => {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}
