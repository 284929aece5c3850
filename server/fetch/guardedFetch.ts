// A fetch for the agent's big downloads (WAT files), held to the same rules as image fetches: every hop's
// host is resolved here and refused if any of its addresses is private, loopback, link-local or metadata
// (unless allowPrivate), the socket connects to the checked address (no second lookup), at most 5
// redirects, the project's User-Agent, and the agent's bandwidth cap on the body. The WAT reader uses it
// through the fetch signature it already takes.
import { Agent, fetch as undiciFetch } from 'undici';
import { USER_AGENT } from './fetcher.ts';
import type { TokenBucket } from './limits.ts';
import { pinnedLookup, resolveChecked, type AddressPolicy, type Lookup } from './resolve.ts';

export interface GuardedFetchOptions extends AddressPolicy {
  /** Shared with the image fetcher so that one cap covers all of the agent's downloads. */
  bucket?: TokenBucket | null;
  maxRedirects?: number;
  lookup?: Lookup;
}

/** Thrown for a refused address; `code` lets callers report it as permanent. */
export class BlockedAddressError extends Error {
  readonly code = 'BLOCKED_ADDRESS';
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function createGuardedFetch(opts: GuardedFetchOptions = {}): typeof fetch {
  const maxRedirects = opts.maxRedirects ?? 5;

  const guarded = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`refusing ${url.protocol} URL`);
      const resolved = await resolveChecked(url, opts, opts.lookup);
      if (!resolved.ok) throw resolved.status === 'blocked-address' ? new BlockedAddressError(resolved.detail) : new TypeError(resolved.detail);
      const pinned = resolved.addresses;
      const agent = new Agent({ connections: 1, connect: { lookup: pinnedLookup(() => pinned) } });
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => (headers[k] = v));
      headers['user-agent'] = USER_AGENT;
      let res: Awaited<ReturnType<typeof undiciFetch>>;
      try {
        res = await undiciFetch(url, { method: init.method, headers, signal: init.signal ?? undefined, redirect: 'manual', dispatcher: agent });
      } catch (err) {
        await agent.close().catch(() => {});
        throw err;
      }
      const location = res.headers.get('location');
      if (REDIRECTS.has(res.status) && location) {
        await res.body?.cancel().catch(() => {});
        await agent.close().catch(() => {});
        if (hop >= maxRedirects) throw new TypeError(`more than ${maxRedirects} redirects`);
        url = new URL(location, url);
        continue;
      }
      if (!res.body) {
        await agent.close().catch(() => {});
        return res as unknown as Response;
      }
      // Hand the body on through the bandwidth cap; the connection closes when it ends or is cancelled.
      const reader = res.body.getReader();
      const bucket = opts.bucket ?? null;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { done, value } = await reader.read();
            if (done) {
              controller.close();
              await agent.close().catch(() => {});
              return;
            }
            if (bucket) await bucket.take(value.byteLength);
            controller.enqueue(value);
          } catch (err) {
            controller.error(err);
            await agent.destroy().catch(() => {});
          }
        },
        async cancel(reason) {
          await reader.cancel(reason).catch(() => {});
          await agent.destroy().catch(() => {});
        },
      });
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers as unknown as HeadersInit });
    }
  };
  return guarded as typeof fetch;
}
