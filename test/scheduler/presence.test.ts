import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../server/coordinator.ts';
import { StatsResponse } from '../../shared/protocol/http.ts';
import { openSocket, registerVolunteer, startTestCoordinator } from '../helpers/coordinator.ts';
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
    const s = await openSocket(coord.url, token);
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
      const s = await openSocket(coord.url, token);
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
