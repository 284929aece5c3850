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
