import { configFromEnv, type CoordinatorConfig } from '../../server/config.ts';
import { startCoordinator, type Coordinator } from '../../server/coordinator.ts';
import type { Database } from '../../server/db/database.ts';
import type { Clock } from '../../server/deps.ts';
import { createLogger } from '../../server/log.ts';
import { io as connect, type Socket } from 'socket.io-client';
import { RegisterResponse } from '../../shared/protocol/http.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol/version.ts';

/** A real coordinator on an ephemeral loopback port, over the given database. */
export async function startTestCoordinator(
  db: Database,
  opts: { clock?: Clock; config?: Partial<CoordinatorConfig>; background?: boolean } = {},
): Promise<Coordinator> {
  const config = configFromEnv({}, { port: 0, host: '127.0.0.1', modelDir: null, adminToken: 'test-admin-token', ...opts.config });
  return startCoordinator(config, { db, clock: opts.clock, log: createLogger('silent'), background: opts.background ?? false });
}

/** Registers a volunteer over HTTP and returns its token. */
export async function registerVolunteer(baseUrl: string, nickname: string, team?: string): Promise<RegisterResponse> {
  const res = await fetch(`${baseUrl}/api/volunteers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nickname, team }),
  });
  if (res.status !== 201) throw new Error(`register ${nickname}: HTTP ${res.status} ${await res.text()}`);
  return RegisterResponse.parse(await res.json());
}

/** A raw socket.io connection with this token, connected (no reconnection: tests drive that themselves). */
export async function openSocket(baseUrl: string, token: string): Promise<Socket> {
  const s = connect(baseUrl, { auth: { token, protocol: PROTOCOL_VERSION, clientVersion: '0.1.0' }, forceNew: true, reconnection: false, transports: ['websocket'] });
  await new Promise<void>((resolve, reject) => s.once('connect', () => resolve()).once('connect_error', reject));
  return s;
}
