// Which IP addresses an agent may connect to. A volunteer's agent must never be turned into a probe of
// the volunteer's own network or of a cloud metadata service, so only plain global unicast is allowed:
// everything ipaddr.js classifies as any special range (private, loopback, link-local incl. 169.254.169.254,
// CGNAT, multicast, unspecified, broadcast, reserved/documentation, unique-local incl. fd00:ec2::254,
// IPv4-mapped/translated IPv6, 6to4, Teredo, NAT64, ...) is refused.
import ipaddr from 'ipaddr.js';

export type AddressCheck = { ok: true; address: string; family: 4 | 6 } | { ok: false; reason: 'blocked_address' | 'bad_address'; detail: string };

/** `allowAddresses` lists exact addresses exempt from the policy (tests and the offline demo). */
export function checkAddress(address: string, allowPrivate = false, allowAddresses: ReadonlySet<string> = new Set()): AddressCheck {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!ipaddr.isValid(bare)) return { ok: false, reason: 'bad_address', detail: `not an IP address: ${address}` };
  const parsed = ipaddr.parse(bare);
  const family = parsed.kind() === 'ipv4' ? 4 : 6;
  const normal = parsed.toNormalizedString();
  if (allowPrivate || allowAddresses.has(bare) || allowAddresses.has(normal)) return { ok: true, address: bare, family };
  const range = parsed.range();
  if (range !== 'unicast') return { ok: false, reason: 'blocked_address', detail: `${bare} is ${range}` };
  if (parsed.kind() === 'ipv6') {
    // ipaddr.js calls every IPv6 not in a listed range "unicast"; only 2000::/3 is global unicast today.
    const first = (parsed as ipaddr.IPv6).parts[0]!;
    if (first < 0x2000 || first > 0x3fff) return { ok: false, reason: 'blocked_address', detail: `${bare} is outside 2000::/3` };
    // 2001:db8::/32 documentation and 2001::/23 IETF protocol assignments are not real hosts.
    if (parsed.match(ipaddr.parseCIDR('2001:db8::/32')) || parsed.match(ipaddr.parseCIDR('2001::/23'))) {
      return { ok: false, reason: 'blocked_address', detail: `${bare} is reserved` };
    }
  }
  return { ok: true, address: bare, family };
}

/** Names that resolve inside the volunteer's own machine or network, by convention or by standard. */
const LOCAL_SUFFIXES = ['.localhost', '.local', '.internal', '.home.arpa', '.lan', '.intranet', '.corp', '.localdomain'];

/**
 * The check a browser can make before it fetches: it cannot see which address a name resolves to, so it
 * refuses IP literals outside global unicast and names that only mean something on a local network
 * (`localhost`, `router.local`, single-label names like `http://nas/`). A public name that resolves to a
 * private address still gets through; the browser's own Private Network Access rules are the next line.
 */
export function checkUrlHost(hostname: string, allowPrivate = false): AddressCheck {
  if (allowPrivate) return { ok: true, address: hostname, family: hostname.includes(':') ? 6 : 4 };
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  // WHATWG URL parsing already turned 0x7f.1, 2130706433 and friends into dotted quads.
  if (ipaddr.isValid(bare) && (bare.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(bare))) return checkAddress(bare);
  if (host === 'localhost' || LOCAL_SUFFIXES.some((s) => host.endsWith(s))) {
    return { ok: false, reason: 'blocked_address', detail: `${host} is a local name` };
  }
  if (!host.includes('.')) return { ok: false, reason: 'blocked_address', detail: `${host} is a single-label (local network) name` };
  return { ok: true, address: host, family: 4 };
}
