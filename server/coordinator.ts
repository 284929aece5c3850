// The only place that wires the roles together: database, HTTP, socket.io scheduler, transitioner.
import { createServer, type Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import type { CoordinatorConfig } from './config.ts';
import { openDatabase, type Database } from './db/database.ts';
import { systemClock, type Clock, type Deps } from './deps.ts';
import { createApp } from './http/app.ts';
import type { Logger } from './log.ts';
import { installAuth } from './scheduler/auth.ts';
import { registerHelloHandlers } from './scheduler/helloHandlers.ts';
import { registerJobHandlers } from './scheduler/jobHandlers.ts';
import type { CoordinatorServer } from './scheduler/types.ts';
import { ensureAdminToken } from './adminToken.ts';
import { runAssimilatorOnce } from './assimilator.ts';
import { createModelProvider } from './http/modelRoutes.ts';
import { startLoop } from './loop.ts';
import { failure } from '../shared/protocol/ack.ts';
import { EVENT_NAMES } from '../shared/protocol/events.ts';
import { MAX_MESSAGE_BYTES } from '../shared/protocol/limits.ts';
import { markWorkersSeen } from './db/queries/markWorkersSeen.ts';
import { runPackerOnce } from './packer.ts';
import { runTransitionerOnce } from './transitioner.ts';

const SHUTDOWN_GRACE_MS = 5_000;

export interface Coordinator {
  deps: Deps;
  io: CoordinatorServer;
  http: HttpServer;
  url: string;
  /** Tells idle clients of this coordinator to ask for jobs again. */
  announceJobs(kinds: string[]): void;
  close(): Promise<void>;
}

export async function startCoordinator(
  config: CoordinatorConfig,
  /** `background: false` leaves the transitioner, assimilator and packer to the caller (tests call runOnce). */
  opts: { log: Logger; clock?: Clock; db?: Database; background?: boolean },
): Promise<Coordinator> {
  if (!config.adminToken) config = { ...config, adminToken: await ensureAdminToken(config.dataDir) };
  const db = opts.db ?? (await openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { dataDir: join(config.dataDir, 'pglite') }));
  const deps: Deps = { db, clock: opts.clock ?? systemClock, log: opts.log, config };
  const model = createModelProvider(config.modelDir);
  const http = createServer(createApp(deps, model));
  let closing = false;
  const io: CoordinatorServer = new Server(http, {
    // WAT results are the largest messages; clients check theirs against the same limit before sending.
    maxHttpBufferSize: config.maxMessageBytes ?? MAX_MESSAGE_BYTES,
    pingInterval: 10_000,
    pingTimeout: 10_000,
    // Once closing, a client reconnecting over a keep-alive connection that is still open must not get a
    // new session (and a lease) from a coordinator that is going away.
    allowRequest: (_req, done) => done(closing ? 'coordinator shutting down' : null, !closing),
  });
  installAuth(io, deps);
  // writes still running when a socket drops; close() waits for them before the database goes away
  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  io.on('connection', (socket) => {
    registerHelloHandlers(socket, deps, track);
    registerJobHandlers(socket, deps);
    // A misspelt or newer event would otherwise wait for its acknowledgement until the client's timeout.
    socket.onAny((event: string, ...args: unknown[]) => {
      if ((EVENT_NAMES as readonly string[]).includes(event)) return;
      const ack = args.at(-1);
      if (typeof ack === 'function') ack(failure('bad_request', `unknown event '${event}'; this coordinator speaks ${EVENT_NAMES.join(', ')}`));
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.port, config.host, () => resolve());
    });
  } catch (err) {
    io.close();
    if (!opts.db) await db.close();
    throw err;
  }
  // Started once listening: a port already taken must not leave passes running against the database.
  // Presence is part of the scheduler, not a background role: it runs in every coordinator, tests included.
  const presence = startLoop('presence', config.heartbeatMs, deps.log, () => {
    const ids = [...io.of('/').sockets.values()].flatMap((s) => (s.data.worker ? [s.data.worker.id] : []));
    return ids.length ? markWorkersSeen(db, ids, deps.clock.now()) : Promise.resolve(0);
  });
  const loops = opts.background === false ? [presence] : [
    presence,
    startLoop('transitioner', config.transitionerIntervalMs, deps.log, () => runTransitionerOnce(deps), (s) => {
      if (s.expired) deps.log.info('leases expired', { ...s });
    }),
    startLoop('assimilator', config.backgroundIntervalMs, deps.log, () => runAssimilatorOnce(deps), (s) => {
      if (s.jobs) deps.log.info('assimilated', { ...s });
    }),
    startLoop('packer', config.backgroundIntervalMs, deps.log, () => runPackerOnce(deps, model), (s) => {
      if (s.jobs) {
        deps.log.info('packed url jobs', { ...s });
        io.emit('job:available', { kinds: ['url'] });
      }
    }),
  ];
  const addr = http.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address;
  opts.log.info('coordinator listening', { url: `http://${host}:${addr.port}`, database: db.kind, coordinator: config.coordinatorId });
  return {
    deps,
    io,
    http,
    url: `http://${host}:${addr.port}`,
    announceJobs(kinds) {
      io.emit('job:available', { kinds });
    },
    async close() {
      closing = true;
      await Promise.all(loops.map((l) => l.stop()));
      io.disconnectSockets(true);
      // http.close() only drops connections idle at that instant: a keep-alive connection busy then (a
      // model download, a page's poll) would hold it for its keep-alive time after each request, and a
      // client polling faster than that would hold it forever. Idle ones are dropped as they appear;
      // after the grace period the rest are cut.
      const closed = new Promise<void>((resolve) => io.close(() => resolve()));
      const sweep = setInterval(() => http.closeIdleConnections(), 200);
      const cut = setTimeout(() => http.closeAllConnections(), config.shutdownGraceMs ?? SHUTDOWN_GRACE_MS);
      try {
        await closed;
      } finally {
        clearInterval(sweep);
        clearTimeout(cut);
      }
      await Promise.allSettled([...pending]);
      if (!opts.db) await db.close();
    },
  };
}
