// HTTPS through the pinned connection: the socket goes to the checked address while TLS still sends the
// host name as SNI (and verifies the certificate against it: a self-signed one is refused).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetcher } from '../../server/fetch/fetcher.ts';

let server: Server;
let port = 0;
const seen: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'crawlswarm-tls-'));

beforeAll(async () => {
  // A throwaway self-signed certificate for img.example.test (openssl ships with the OS image).
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=img.example.test', '-addext', 'subjectAltName=DNS:img.example.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  server = createServer(
    {
      key: readFileSync(join(dir, 'key.pem')),
      cert: readFileSync(join(dir, 'cert.pem')),
      // Called with the ClientHello's server name, before the client sees (and refuses) the certificate.
      SNICallback: (name, cb) => {
        seen.push(`sni ${name}`);
        cb(null, undefined);
      },
    },
    (_req, res) => res.end('hi'),
  );
  server.on('tlsClientError', () => {});
  server.on('connection', (s: import('node:net').Socket) => seen.push(`tcp ${s.localAddress}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', () => resolve()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('https through the pinned address', () => {
  it('connects to the checked IP, sends the host name as SNI, refuses the self-signed certificate', async () => {
    const fetcher = createFetcher({ allowAddresses: ['127.0.0.2'], totalTimeoutMs: 3000 }, { lookup: async () => [{ address: '127.0.0.2', family: 4 }] });
    const r = await fetcher.fetchImage(`https://img.example.test:${port}/a.jpg`);
    await fetcher.close();
    expect(r).toMatchObject({ status: 'connect-error', address: '127.0.0.2' });
    expect(r.ok === false && r.detail).toMatch(/self.signed|certificate/i);
    expect(seen).toEqual(['tcp 127.0.0.2', 'sni img.example.test']);
  });
});
