// The address half of the agent's safety rule, shared by the image fetcher and the WAT download fetch:
// resolve a host here, refuse it if any of its addresses is outside the policy, and give sockets only the
// addresses that were checked (no second lookup between the check and the connect).
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { checkAddress } from '../../shared/net/address.ts';

export interface ResolvedAddress {
  address: string;
  family: number;
}

export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface AddressPolicy {
  allowPrivate?: boolean;
  /** Exact addresses exempt from the policy (tests: loopback hosts that stand for public ones). */
  allowAddresses?: ReadonlySet<string>;
}

export type Resolution =
  | { ok: true; addresses: ResolvedAddress[] }
  | { ok: false; status: 'blocked-address' | 'dns-error'; detail: string };

/** The checked addresses of a URL's host (an IP literal is checked as it is). */
export async function resolveChecked(url: URL, policy: AddressPolicy, lookup: Lookup = systemLookup): Promise<Resolution> {
  const host = url.hostname;
  const literal = host.startsWith('[') ? host.slice(1, -1) : host;
  const asLiteral = checkAddress(literal, policy.allowPrivate, policy.allowAddresses);
  if (asLiteral.ok) return { ok: true, addresses: [{ address: asLiteral.address, family: asLiteral.family }] };
  if (asLiteral.reason === 'blocked_address') return { ok: false, status: 'blocked-address', detail: asLiteral.detail };
  let addresses: ResolvedAddress[];
  try {
    addresses = await lookup(host);
  } catch (err) {
    return { ok: false, status: 'dns-error', detail: `${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  if (addresses.length === 0) return { ok: false, status: 'dns-error', detail: `${host}: no addresses` };
  // Refuse the host if any of its addresses is refused: we cannot know which one a later connect would get.
  for (const a of addresses) {
    const c = checkAddress(a.address, policy.allowPrivate, policy.allowAddresses);
    if (!c.ok) return { ok: false, status: 'blocked-address', detail: `${host} -> ${c.detail}` };
  }
  return { ok: true, addresses };
}

/**
 * A `connect.lookup` for an undici Agent that answers only from checked addresses: `pinned(hostname)` gives
 * them, or nothing, and then the connect fails with ENOTPINNED instead of resolving on its own.
 */
export function pinnedLookup(pinned: (hostname: string) => readonly ResolvedAddress[] | undefined): LookupFunction {
  return ((hostname: string, opts: { all?: boolean } | number, cb: (...args: unknown[]) => void) => {
    const pin = pinned(hostname.toLowerCase());
    if (!pin || pin.length === 0) {
      return cb(Object.assign(new Error(`no checked address pinned for ${hostname}`), { code: 'ENOTPINNED' }));
    }
    if (typeof opts === 'object' && opts?.all) cb(null, pin.map((a) => ({ address: a.address, family: a.family })));
    else cb(null, pin[0]!.address, pin[0]!.family);
  }) as unknown as LookupFunction;
}
