// Coordinator.close() must finish whatever its HTTP clients do: a restart (or SIGTERM) that waits for a
// page's keep-alive connection would never come back. Node's http.close() only drops connections idle at
// that instant, and engine.io would still open sessions over the others (the likely cause of a CI hang).
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCoordinator } from '../helpers/coordinator.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until, within } from '../helpers/wait.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await openTestDatabase('pglite');
});
afterAll(async () => {
  await t?.drop();
});

/** A plain TCP connection to the coordinator, to hold HTTP requests half-sent. */
async function openRaw(url: string): Promise<Socket> {
  const sock = connect(Number(new URL(url).port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => sock.once('connect', () => resolve()).once('error', reject));
  sock.on('error', () => {});
  return sock;
}

/** The milliseconds close() took; throws when it takes longer than `ms`. */
async function timedClose(close: () => Promise<void>, ms: number): Promise<number> {
  const t0 = performance.now();
  await within('close()', ms, close());
  return performance.now() - t0;
}

describe('coordinator shutdown', () => {
  it('is not held open by a client polling over one keep-alive connection', async () => {
    const coord = await startTestCoordinator(t.db, { config: { shutdownGraceMs: 60_000 } });
    const sock = await openRaw(coord.url);
    let answers = 0;
    sock.on('data', (b: Buffer) => (answers += b.toString('latin1').split('HTTP/1.1 200').length - 1));
    const ask = 'GET /api/stats HTTP/1.1\r\nHost: x\r\n\r\n';
    // The connection is busy when close() starts (headers not finished yet), then asks again every 100 ms,
    // faster than Node's 5 s keep-alive timeout: it is never idle for long.
    sock.write('GET /api/stats HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const closing = timedClose(() => coord.close(), 4_000);
    sock.write('\r\n');
    const poll = setInterval(() => sock.writable && sock.write(ask), 100);
    try {
      // The grace period is a minute: only dropping idle connections as they appear can end this quickly.
      const ms = await closing;
      expect(ms).toBeLessThan(4_000);
      expect(answers).toBeGreaterThanOrEqual(1);
    } finally {
      clearInterval(poll);
      sock.destroy();
    }
  });

  it('cuts a request that never finishes after the grace period', async () => {
    const coord = await startTestCoordinator(t.db, { config: { shutdownGraceMs: 300 } });
    const sock = await openRaw(coord.url);
    let ended = false;
    sock.on('close', () => (ended = true));
    // Half a request: headers never end, so the server counts it as busy until headersTimeout (a minute).
    sock.write('GET /api/stats HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const ms = await timedClose(() => coord.close(), 5_000);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(3_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(ended).toBe(true);
    sock.destroy();
  });

  it('refuses a socket.io handshake that arrives over an old connection while closing', async () => {
    const coord = await startTestCoordinator(t.db, { config: { shutdownGraceMs: 2_000 } });
    const holder = await openRaw(coord.url);
    holder.write('GET /api/stats HTTP/1.1\r\nHost: x\r\n'); // keeps close() waiting for the grace period
    const late = await openRaw(coord.url);
    let reply = '';
    late.on('data', (b: Buffer) => (reply += b.toString('latin1')));
    await new Promise((r) => setTimeout(r, 100));
    const closing = coord.close();
    late.write('GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n');
    await until('the handshake answer', () => reply.includes('\r\n\r\n'), 1_500);
    expect(reply).toMatch(/^HTTP\/1\.1 403/);
    expect(reply).toContain('coordinator shutting down');
    await closing;
    holder.destroy();
    late.destroy();
  });
});
