import { describe, expect, it } from 'vitest';
import { checkAddress, checkUrlHost } from '../../shared/net/address.ts';

describe('checkAddress', () => {
  const blocked = [
    '127.0.0.1', '127.0.0.2', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '169.254.0.1',
    '100.64.0.1', '100.100.100.200', '0.0.0.0', '0.1.2.3', '255.255.255.255', '224.0.0.1', '239.255.255.250', '192.0.2.1',
    '198.18.0.1', '198.51.100.7', '203.0.113.9', '240.0.0.1', '192.0.0.8',
    '::', '::1', 'fe80::1', 'fc00::1', 'fd00:ec2::254', 'ff02::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254',
    '::ffff:8.8.8.8', '64:ff9b::7f00:1', '2002:7f00:1::', '2001::1', '2001:db8::1', '100::1', 'fec0::1',
    '[::1]',
  ];
  const allowed = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001:82a::200e'];
  for (const a of blocked) it(`refuses ${a}`, () => expect(checkAddress(a)).toMatchObject({ ok: false, reason: 'blocked_address' }));
  for (const a of allowed) it(`allows ${a}`, () => expect(checkAddress(a)).toMatchObject({ ok: true }));
  it('names the range in the detail', () => {
    expect(checkAddress('169.254.169.254')).toMatchObject({ detail: '169.254.169.254 is linkLocal' });
    expect(checkAddress('::ffff:127.0.0.1')).toMatchObject({ detail: expect.stringContaining('ipv4Mapped') });
  });
  it('allowPrivate lifts everything, allowAddresses only the listed ones', () => {
    expect(checkAddress('127.0.0.1', true)).toMatchObject({ ok: true, family: 4 });
    expect(checkAddress('::1', true)).toMatchObject({ ok: true, family: 6 });
    const allow = new Set(['127.0.0.2']);
    expect(checkAddress('127.0.0.2', false, allow).ok).toBe(true);
    expect(checkAddress('127.0.0.1', false, allow).ok).toBe(false);
  });
  it('says bad_address for host names', () => {
    expect(checkAddress('example.com')).toMatchObject({ ok: false, reason: 'bad_address' });
  });
});

describe('checkUrlHost (what a browser can check before it fetches)', () => {
  // hostnames as the browser's URL parser leaves them: 2130706433, 0x7f.1 and 017700000001 become 127.0.0.1
  const host = (u: string) => new URL(u).hostname;
  const blocked = [
    'http://127.0.0.1/a.jpg', 'http://2130706433/a.jpg', 'http://0x7f.1/a.jpg', 'http://[::1]/a.jpg', 'http://[::ffff:7f00:1]/',
    'http://169.254.169.254/latest/meta-data/', 'http://192.168.1.1/', 'http://10.0.0.8:8080/x.png', 'http://[fd00:ec2::254]/',
    'http://localhost/a.jpg', 'http://LOCALHOST./a.jpg', 'http://app.localhost/', 'http://printer.local/', 'http://db.internal/',
    'http://router.home.arpa/', 'http://nas/', 'http://nas.lan/', 'https://wpad/wpad.dat',
  ];
  const allowed = ['http://example.com/a.jpg', 'https://upload.wikimedia.org/x.jpg', 'http://8.8.8.8/a.png', 'http://[2606:4700:4700::1111]/', 'http://localhost.example.com/'];
  for (const u of blocked) it(`refuses ${u}`, () => expect(checkUrlHost(host(u))).toMatchObject({ ok: false, reason: 'blocked_address' }));
  for (const u of allowed) it(`allows ${u}`, () => expect(checkUrlHost(host(u))).toMatchObject({ ok: true }));
  it('allowPrivate lifts it', () => {
    expect(checkUrlHost('127.0.0.1', true).ok).toBe(true);
    expect(checkUrlHost('localhost', true).ok).toBe(true);
  });
});
