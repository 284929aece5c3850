// A coordinator that shuts down cleanly (a deploy) closes every socket with "io server disconnect", after
// which socket.io-client does not retry by itself: the shared WorkClient must come back on its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../server/coordinator.ts';
import { enqueueJobs } from '../../server/db/queries/enqueueJobs.ts';
import { WorkClient, type WorkClientState } from '../../shared/client/workClient.ts';
import { NoopPayload, runNoop } from '../../shared/jobs/noop.ts';
import { registerVolunteer, startTestCoordinator } from '../helpers/coordinator.ts';
import { dbBackends, openTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { until } from '../helpers/wait.ts';
import { freePort } from '../helpers/net.ts';

describe.each(dbBackends())('clean coordinator restart on %s', (backend) => {
  let t: TestDatabase;
  let coord: Coordinator | null = null;
  beforeAll(async () => {
    t = await openTestDatabase(backend);
  });
  afterAll(async () => {
    await coord?.close();
    await t?.drop();
  });

  it('a WorkClient reconnects after "io server disconnect", also when the coordinator is gone for a while', async () => {
    const port = await freePort();
    coord = await startTestCoordinator(t.db, { config: { port } });
    const { token } = await registerVolunteer(coord.url, `restart-${backend}`);
    const states: WorkClientState[] = [];
    const done: string[] = [];
    const client = new WorkClient({
      url: coord.url, token, kind: 'node',
      capabilities: { jobKinds: ['noop'], backends: [], features: [], maxJobs: 2 },
      executors: { noop: { run: async (job) => ({ ok: true, result: runNoop(NoopPayload.parse(job.payload)) }) } },
      idlePollMs: 200,
      serverDisconnectDelayMs: 100,
      socketOptions: { forceNew: true, transports: ['websocket'] },
      onEvent: (e) => {
        if (e.type === 'state') states.push(e.state);
        if (e.type === 'job:done' && e.accepted) done.push(e.job.jobId);
      },
    });
    try {
      client.start();
      await until('ready', () => client.currentState === 'ready');
      await coord.close();
      coord = null;
      await until('disconnected', () => client.currentState === 'connecting');
      // Down for longer than the reconnect delay: the first attempt is refused, socket.io's backoff goes on.
      await new Promise((r) => setTimeout(r, 1_500));
      coord = await startTestCoordinator(t.db, { config: { port } });
      const [id] = await enqueueJobs(t.db, [{ kind: 'noop', payload: { seq: 7 } }]);
      await until('the job queued after the restart is done', () => done.includes(String(id)));
      expect(client.currentState).toBe('ready');
      expect(states.filter((s) => s === 'ready').length).toBe(2);
    } finally {
      await client.stop();
    }
  });
});
