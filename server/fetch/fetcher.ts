// The polite, safe image fetcher of the Node agent (and of `crawlswarm probe`).
//
// Safety: every hop (the first request and each redirect, followed by hand) resolves its host name here,
// refuses the hop if ANY resolved address is not global unicast (see address.ts), and pins the checked
// address: the shared undici Agent's connect.lookup only answers from the pin table, so the socket goes to
// exactly the address that was checked, never to a second DNS answer (DNS rebinding), while the Host header
// and TLS SNI keep the host name.
// Politeness: a global limit plus a per-host limit (default 2 in flight), one retry only for timeouts and
// 5xx, none for 4xx (429 counts against the host instead), a per-host failure memory, a User-Agent with a
// URL for site owners, X-Robots-Tag opt-out checked on the headers before any body is read.
import { Agent, request, type Dispatcher } from 'undici';
import { pinnedLookup, resolveChecked, systemLookup, type Lookup, type ResolvedAddress } from './resolve.ts';
import { HostFailureMemory, KeyedSemaphore, Semaphore, TokenBucket, realClock, type Clock } from './limits.ts';
import { checkImagePrefix } from '../../shared/image/checks.ts';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from '../../shared/image/clip.ts';
import { checkXRobotsTag, OUR_ROBOTS_TOKEN } from '../../shared/image/robots.ts';
import type { UrlStatus } from '../../shared/image/status.ts';

export const USER_AGENT = 'crawlswarm/0.1 (+https://github.com/crawlswarm/crawlswarm; image-text dataset crawler)';

export interface FetcherOptions {
  /** Downloads in flight at once, all hosts together. */
  concurrency: number;
  /** Downloads in flight at once to one host name. */
  perHostConcurrency: number;
  connectTimeoutMs: number;
  /** Whole attempt: DNS, connect, every redirect hop, headers and body. A retry gets a fresh budget. */
  totalTimeoutMs: number;
  maxRedirects: number;
  /** Body limit, enforced while streaming (and at once from Content-Length). */
  maxBytes: number;
  userAgent: string;
  /** Token matched against `X-Robots-Tag: <token>: noai`. */
  robotsToken: string;
  /** Pause before the single retry of a timeout or 5xx. */
  retryDelayMs: number;
  /** Failures on one host after which its remaining URLs end as `host-skipped`. */
  hostFailureThreshold: number;
  /** A host's failure record expires this long after its last failure. */
  hostFailureMemoryMs: number;
  /** Total download rate cap for this fetcher, or null for none. Time spent waiting for bandwidth counts
   * against totalTimeoutMs, so pair a low cap with a lower concurrency. */
  bandwidthBytesPerSecond: number | null;
  /** Lifts the address policy entirely (`--allow-private`: tests and the offline demo only). */
  allowPrivate: boolean;
  /** Exact addresses exempt from the policy while everything else stays checked (tests). */
  allowAddresses: readonly string[];
  imageLimits: ImageLimits;
}

export const DEFAULT_FETCHER_OPTIONS: FetcherOptions = {
  concurrency: 64,
  perHostConcurrency: 2,
  connectTimeoutMs: 10_000,
  totalTimeoutMs: 20_000,
  maxRedirects: 5,
  maxBytes: 10 * 1024 * 1024,
  userAgent: USER_AGENT,
  robotsToken: OUR_ROBOTS_TOKEN,
  retryDelayMs: 1_000,
  hostFailureThreshold: 3,
  hostFailureMemoryMs: 10 * 60_000,
  bandwidthBytesPerSecond: null,
  allowPrivate: false,
  allowAddresses: [],
  imageLimits: DEFAULT_IMAGE_LIMITS,
};

export type { ResolvedAddress };
export interface FetcherDeps {
  /** All addresses of a host name (node:dns lookup with all: true by default). */
  lookup: Lookup;
  clock: Clock;
  /** A bandwidth cap shared with other downloads (the agent's WAT files); else one from the options. */
  bucket?: TokenBucket | null;
}
const defaultDeps: FetcherDeps = {
  lookup: systemLookup,
  clock: realClock,
};

interface OutcomeBase {
  url: string;
  /** URL of the last hop requested (after redirects). */
  finalUrl: string;
  httpStatus: number | null;
  redirects: number;
  attempts: number;
  /** Address the last hop connected to (or would have), when known. */
  address: string | null;
  contentType: string | null;
  seconds: number;
  /** Body bytes received (on failure: before stopping, which shows a cap or early check cut the transfer). */
  bytesRead: number;
}
export interface FetchSuccess extends OutcomeBase {
  ok: true;
  status: 'ok';
  body: Uint8Array;
}
export interface FetchFailure extends OutcomeBase {
  ok: false;
  status: Exclude<UrlStatus, 'ok'>;
  detail: string;
}
export type FetchOutcome = FetchSuccess | FetchFailure;

export interface Fetcher {
  readonly options: FetcherOptions;
  /** `signal` aborts this URL (job cancelled): it then ends as `aborted`. */
  fetchImage(url: string, opts?: { signal?: AbortSignal }): Promise<FetchOutcome>;
  /** Live counters for progress displays and tests. */
  stats(): { inFlight: number; waitingForGlobalSlot: number; hostsWithFailures: number; pinnedHosts: number };
  close(): Promise<void>;
}

/** What an attempt learned so far, reported whatever the outcome. */
interface Progress {
  finalUrl: string;
  redirects: number;
  address: string | null;
  httpStatus: number | null;
  contentType: string | null;
  /** Body bytes of the last final-hop response read so far. */
  bytesRead: number;
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/** Internal: one hop's failure, carried up to the attempt loop. */
class HopFailure {
  constructor(
    readonly status: Exclude<UrlStatus, 'ok'>,
    readonly detail: string,
    readonly httpStatus: number | null = null,
    readonly bytesRead = 0,
  ) {}
}

export function createFetcher(options: Partial<FetcherOptions> = {}, deps: Partial<FetcherDeps> = {}): Fetcher {
  const o: FetcherOptions = { ...DEFAULT_FETCHER_OPTIONS, ...options };
  const d: FetcherDeps = { ...defaultDeps, ...deps };
  const allowAddresses = new Set(o.allowAddresses);
  const global = new Semaphore(o.concurrency);
  const perHost = new KeyedSemaphore(o.perHostConcurrency);
  const memory = new HostFailureMemory(o.hostFailureThreshold, o.hostFailureMemoryMs, d.clock);
  const bucket = d.bucket !== undefined ? d.bucket : o.bandwidthBytesPerSecond ? new TokenBucket(o.bandwidthBytesPerSecond, d.clock) : null;
  // host name -> the addresses checked last for it (all of them passed). Sockets resolve only through this
  // table; with several addresses Node may try them in turn (happy eyeballs), all checked.
  // Entries are counted by the hops using them and dropped when none is, so a long run does not keep
  // every host it ever saw (connections already open need no lookup).
  const pins = new Map<string, { addresses: ResolvedAddress[]; users: number }>();
  const agent = new Agent({
    connections: o.perHostConcurrency,
    // Our own per-attempt deadline governs; undici's coarse timers are only a backstop.
    headersTimeout: o.totalTimeoutMs + 1000,
    bodyTimeout: o.totalTimeoutMs + 1000,
    connect: {
      timeout: o.connectTimeoutMs,
      lookup: pinnedLookup((host) => pins.get(host)?.addresses),
    },
  });

  async function resolveHop(url: URL): Promise<ResolvedAddress[]> {
    const r = await resolveChecked(url, { allowPrivate: o.allowPrivate, allowAddresses }, d.lookup);
    if (!r.ok) throw new HopFailure(r.status, r.detail);
    return r.addresses;
  }

  function classifyError(err: unknown, deadline: AbortSignal, external: AbortSignal | undefined): HopFailure {
    if (err instanceof HopFailure) return err;
    if (external?.aborted) return new HopFailure('aborted', 'cancelled by the caller');
    if (deadline.aborted) return new HopFailure('timeout', `no complete answer within ${o.totalTimeoutMs} ms`);
    const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const code = e.code ?? e.cause?.code ?? '';
    const message = `${code ? code + ': ' : ''}${e.message ?? String(err)}`;
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
      return new HopFailure('timeout', message);
    }
    if (code === 'ENOTPINNED') return new HopFailure('blocked-address', message);
    if (code === 'ERR_INVALID_URL') return new HopFailure('bad-url', message);
    return new HopFailure('connect-error', message);
  }

  /**
   * One attempt: the first hop and its redirects. Each hop first waits for a slot on its host and then a
   * global slot, holding nothing while it waits (so URLs queued on a busy host never hold global slots
   * other hosts could use), and the attempt's time budget runs only while a hop holds its slots: waiting
   * in a host's queue behind slow downloads is not a timeout of this URL.
   */
  async function attempt(url: URL, external: AbortSignal | undefined, progress: Progress): Promise<Uint8Array> {
    let budgetMs = o.totalTimeoutMs;
    const seen = new Set<string>();
    let current = url;
    for (let hop = 0; ; hop++) {
      progress.finalUrl = current.href;
      if (seen.has(current.href)) throw new HopFailure('redirect-loop', `back to ${current.href} after ${hop} redirects`);
      seen.add(current.href);
      const host = current.hostname.toLowerCase();
      const releaseHost = await perHost.acquire(host);
      // The host may have been marked dead while this URL waited in its queue.
      const skip = memory.skipReason(host);
      if (skip) {
        releaseHost();
        throw new HopFailure('host-skipped', skip);
      }
      const releaseGlobal = await global.acquire();
      const controller = new AbortController();
      const startedMs = d.clock.nowMs();
      const timer = setTimeout(() => controller.abort(new Error('deadline')), Math.max(0, budgetMs));
      const onExternal = () => controller.abort(new Error('cancelled'));
      external?.addEventListener('abort', onExternal, { once: true });
      try {
        if (external?.aborted) throw new HopFailure('aborted', 'cancelled by the caller');
        const next = await hopOnce(current, hop, controller.signal, progress);
        if (next instanceof Uint8Array) return next;
        current = next;
      } catch (err) {
        throw classifyError(err, controller.signal, external);
      } finally {
        clearTimeout(timer);
        external?.removeEventListener('abort', onExternal);
        releaseGlobal();
        releaseHost();
        budgetMs -= d.clock.nowMs() - startedMs;
      }
    }
  }

  /** One request: resolves and pins, then answers the body (final hop) or the next URL (redirect). */
  async function hopOnce(current: URL, hop: number, signal: AbortSignal, progress: Progress): Promise<Uint8Array | URL> {
    const host = current.hostname.toLowerCase();
    const resolved = await raceAbort(resolveHop(current), signal);
    progress.address = resolved[0]!.address;
    const key = host.startsWith('[') ? host.slice(1, -1) : host;
    const pin = pins.get(key);
    pins.set(key, { addresses: resolved, users: (pin?.users ?? 0) + 1 });
    try {
      return await requestPinned(current, hop, signal, progress);
    } finally {
      const p = pins.get(key)!;
      if (--p.users === 0) pins.delete(key);
    }
  }

  async function requestPinned(current: URL, hop: number, signal: AbortSignal, progress: Progress): Promise<Uint8Array | URL> {
    const res = await request(current, {
      method: 'GET',
      dispatcher: agent as Dispatcher,
      signal,
      headers: { 'user-agent': o.userAgent, accept: 'image/webp,image/png,image/jpeg;q=0.9,*/*;q=0.1' },
    });
    progress.httpStatus = res.statusCode;
    const location = header(res.headers, 'location');
    if (REDIRECT_CODES.has(res.statusCode) && location) {
      await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
      if (hop + 1 > o.maxRedirects) throw new HopFailure('too-many-redirects', `more than ${o.maxRedirects} redirects`, res.statusCode);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new HopFailure('bad-url', `bad Location ${JSON.stringify(location)}`, res.statusCode);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new HopFailure('bad-url', `redirect to ${next.protocol} URL`, res.statusCode);
      progress.redirects = hop + 1;
      return next;
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
      throw new HopFailure('http-error', `HTTP ${res.statusCode}`, res.statusCode);
    }
    progress.contentType = header(res.headers, 'content-type');
    // Opt-out and declared size are decided on the headers: the body is never read.
    const robots = checkXRobotsTag(res.headers['x-robots-tag'] as string | string[] | undefined, o.robotsToken);
    if (robots.optOut) {
      res.body.destroy();
      throw new HopFailure('opt-out', `X-Robots-Tag ${robots.matched}`, res.statusCode);
    }
    const declared = Number(header(res.headers, 'content-length') ?? NaN);
    if (declared > o.maxBytes) {
      res.body.destroy();
      throw new HopFailure('too-large', `Content-Length ${declared} > ${o.maxBytes}`, res.statusCode);
    }
    return await readBody(res.body, res.statusCode, progress);
  }

  /** Streams the body with the size cap, the bandwidth cap and the early image checks. */
  async function readBody(body: AsyncIterable<Uint8Array> & { destroy(err?: Error): unknown }, httpStatus: number, progress: Progress): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    progress.bytesRead = 0;
    let checkedAt = 0;
    let decided = false;
    for await (const chunk of body) {
      total += chunk.length;
      progress.bytesRead = total;
      if (total > o.maxBytes) {
        body.destroy();
        throw new HopFailure('too-large', `body passed ${o.maxBytes} bytes`, httpStatus, total);
      }
      chunks.push(chunk);
      if (bucket) await bucket.take(chunk.length);
      // Early checks on the prefix, re-run only when it has doubled, and given up after 1 MiB (a header
      // not found by then is judged on the whole file).
      if (!decided && total >= Math.max(16, checkedAt * 2)) {
        checkedAt = total;
        const verdict = checkImagePrefix(concat(chunks, total), o.imageLimits);
        if (verdict && !verdict.ok) {
          body.destroy();
          throw new HopFailure(verdict.status, verdict.detail, httpStatus, total);
        }
        if (verdict || total > 1024 * 1024) decided = true;
      }
    }
    return concat(chunks, total);
  }

  async function fetchImage(rawUrl: string, opts: { signal?: AbortSignal } = {}): Promise<FetchOutcome> {
    const started = d.clock.nowMs();
    const progress: Progress = { finalUrl: rawUrl, redirects: 0, address: null, httpStatus: null, contentType: null, bytesRead: 0 };
    let attempts = 0;
    const finish = (r: { ok: true; body: Uint8Array } | HopFailure): FetchOutcome => {
      const base = { url: rawUrl, ...progress, attempts, seconds: (d.clock.nowMs() - started) / 1000 };
      if ('ok' in r) return { ...base, ok: true, status: 'ok', body: r.body };
      return { ...base, httpStatus: r.httpStatus ?? progress.httpStatus, ok: false, status: r.status, detail: r.detail, bytesRead: Math.max(r.bytesRead, progress.bytesRead) };
    };
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return finish(new HopFailure('bad-url', 'not an absolute URL'));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return finish(new HopFailure('bad-url', `${url.protocol} is not http(s)`));
    const host = url.hostname.toLowerCase();
    // A URL whose retry finds its host marked dead ends with its own failure, not host-skipped.
    let lastFailure: HopFailure | null = null;
    for (;;) {
      const skip = memory.skipReason(host);
      if (skip) return finish(lastFailure ?? new HopFailure('host-skipped', skip));
      if (opts.signal?.aborted) return finish(new HopFailure('aborted', 'cancelled by the caller'));
      attempts++;
      try {
        const body = await attempt(url, opts.signal, progress);
        memory.recordSuccess(host);
        return finish({ ok: true, body });
      } catch (err) {
        const f = err as HopFailure;
        if (f.status === 'host-skipped' && lastFailure) return finish(lastFailure);
        lastFailure = f;
        const code = f.httpStatus ?? 0;
        const hostTrouble = f.status === 'timeout' || f.status === 'connect-error' || f.status === 'dns-error' || code === 429 || code >= 500;
        if (hostTrouble) memory.recordFailure(host, `${f.status}: ${f.detail}`);
        else if (f.httpStatus !== null) memory.recordSuccess(host);
        const retryable = (f.status === 'timeout' || (f.status === 'http-error' && code >= 500)) && attempts < 2;
        if (!retryable) return finish(f);
        await d.clock.sleepMs(o.retryDelayMs);
      }
    }
  }

  return {
    options: o,
    fetchImage,
    stats: () => ({ inFlight: global.inUse, waitingForGlobalSlot: global.waiting, hostsWithFailures: memory.size, pinnedHosts: pins.size }),
    close: () => agent.close(),
  };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name];
  return v === undefined ? null : Array.isArray(v) ? (v[0] ?? null) : v;
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  chunks.length = 0;
  chunks.push(out);
  return out;
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
