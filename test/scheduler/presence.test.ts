import { randomUUID } from 'node:crypto';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../server/coordinator.ts';
import { StatsResponse } from '../../shared/protocol/http.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/version.ts';
import { registerVolunteer, startTestCoordinator } from '../helpers/coordinator.ts';
import { dbBackends, openTestDatabase, type TestDatabase } from '../helpers/db.ts';

const HEARTBEAT_MS = 200; // "online" means seen within three heartbeats: 600 ms here

describe.each(dbBackends())('worker presence on %s', (backend) => {
  let t: TestDatabase;
  let coord: Coordinator;

  beforeAll(async () => {
    t = await openTestDatabase(backend);
    coord = await startTestCoordinator(t.db, { config: { heartbeatMs: HEARTBEAT_MS } });
  });
  afterAll(async () => {
    await coord?.close();
    await t?.drop();
  });

  const online = async () => StatsResponse.parse(await (await fetch(`${coord.url}/api/stats`)).json()).workersOnline;

  it('an idle connected worker stays online long after its hello; a closed one drops out', async () => {
    const { token } = await registerVolunteer(coord.url, `presence-${backend}`);
    const s = connect(coord.url, { auth: { token, protocol: PROTOCOL_VERSION, clientVersion: '0.1.0' }, forceNew: true, reconnection: false, transports: ['websocket'] });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    expect(await s.emitWithAck('hello', { sessionId: randomUUID(), kind: 'browser', capabilities: { jobKinds: ['noop'] } })).toMatchObject({ ok: true });
    expect(await online()).toEqual({ browser: 1, node: 0 });
    // Three online windows without a message from the client.
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS * 9));
    expect(await online()).toEqual({ browser: 1, node: 0 });
    s.close();
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS * 2));
    expect(await online()).toEqual({ browser: 0, node: 0 });
  });

  it("a client back on a new socket before its old one timed out stays online after the old one's late disconnect", async () => {
    const { token } = await registerVolunteer(coord.url, `presence2-${backend}`);
    const sessionId = randomUUID();
    const open = async () => {
      const s = connect(coord.url, { auth: { token, protocol: PROTOCOL_VERSION, clientVersion: '0.1.0' }, forceNew: true, reconnection: false, transports: ['websocket'] });
      await new Promise<void>((resolve, reject) => s.once('connect', () => resolve()).once('connect_error', reject));
      expect(await s.emitWithAck('hello', { sessionId, kind: 'node', capabilities: { jobKinds: ['noop'] } })).toMatchObject({ ok: true });
      return s;
    };
    const old = await open();
    const fresh = await open();
    old.close(); // its disconnect marks the session gone, though `fresh` holds it
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS * 3));
    expect((await online()).node).toBe(1);
    fresh.close();
  });
});
