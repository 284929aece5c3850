import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/** Everything the coordinator can be told, from flags and environment (see README, "Configuration"). */
export interface CoordinatorConfig {
  port: number;
  host: string;
  /** PGlite's files live under `<dataDir>/pglite` when no databaseUrl is given. */
  dataDir: string;
  databaseUrl: string | null;
  /** A lease lasts this long after the claim or the last heartbeat. */
  leaseMs: number;
  /** Clients are told to heartbeat this often; a few missed heartbeats let the lease lapse. */
  heartbeatMs: number;
  /** How often the transitioner looks for expired leases. */
  transitionerIntervalMs: number;
  /** Default failure cap for new jobs. */
  maxFailures: number;
  /** Identifies this process among coordinators sharing one database. */
  coordinatorId: string;
  /** Serve the built volunteer page from here when it exists. */
  clientDir: string | null;
  /** The active CLIP model: a directory with manifest.json and its ONNX files. */
  modelDir: string | null;
  /** Candidates per URL job, and at most this many of one host in one job. */
  urlJobSize: number;
  urlJobHostCap: number;
  /** How often the assimilator and the packer run. */
  backgroundIntervalMs: number;
  /** Bearer token for /api/admin (ingest); generated into <dataDir>/admin-token when unset. */
  adminToken: string | null;
  /** Largest socket.io message; default MAX_MESSAGE_BYTES, which clients assume (tests set less). */
  maxMessageBytes?: number;
  /** How long one GET /api/leaderboard answer is reused (default 30 s). */
  leaderboardCacheMs?: number;
  /** How long close() lets HTTP requests still running finish before cutting them (default 5 s). */
  shutdownGraceMs?: number;
}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got '${raw}'`);
  return n;
}

export function configFromEnv(env: NodeJS.ProcessEnv, overrides: Partial<CoordinatorConfig> = {}): CoordinatorConfig {
  const heartbeatMs = intEnv(env, 'HEARTBEAT_SECONDS', 15) * 1000;
  return {
    port: intEnv(env, 'PORT', 8080),
    host: env.HOST || '0.0.0.0',
    dataDir: env.DATA_DIR || './data',
    databaseUrl: env.DATABASE_URL || null,
    leaseMs: intEnv(env, 'LEASE_SECONDS', 60) * 1000,
    heartbeatMs,
    transitionerIntervalMs: intEnv(env, 'TRANSITIONER_INTERVAL_SECONDS', 5) * 1000,
    maxFailures: intEnv(env, 'MAX_FAILURES', 5),
    coordinatorId: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    clientDir: null,
    modelDir: env.MODEL_DIR || './models/clip-vit-b-32',
    urlJobSize: intEnv(env, 'URL_JOB_SIZE', 100),
    urlJobHostCap: intEnv(env, 'URL_JOB_HOST_CAP', 5),
    backgroundIntervalMs: intEnv(env, 'BACKGROUND_INTERVAL_SECONDS', 5) * 1000,
    adminToken: env.ADMIN_TOKEN || null,
    ...overrides,
  };
}
