// The coordinator's tables. drizzle-kit generates migrations/ from this file (`npm run db:generate`);
// the same SQL runs on PGlite and PostgreSQL. Columns are snake_case and carry their units.
import { sql } from 'drizzle-orm';
import {
  bigint, bigserial, boolean, check, doublePrecision, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

/** A person who lends a browser tab or a machine. The API token is stored only as its sha256. */
export const volunteers = pgTable('volunteers', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** Public name on the leaderboard, `^[-_a-zA-Z0-9]{3,30}$`, unique ignoring case. */
  nickname: text('nickname').notNull(),
  /** Optional team for the team leaderboard. */
  team: text('team'),
  /** sha256 (hex) of the API token; the token itself is shown once, at registration. */
  token_hash: text('token_hash').notNull(),
  created_at: ts('created_at').notNull().defaultNow(),
}, (t) => [
  uniqueIndex('volunteers_nickname_lower').on(sql`lower(${t.nickname})`),
  uniqueIndex('volunteers_token_hash').on(t.token_hash),
]);

/** One connected client session (a tab or an agent process); survives reconnects through `id`. */
export const workers = pgTable('workers', {
  /** Chosen by the client (`hello.sessionId`). */
  id: uuid('id').primaryKey(),
  volunteer_id: bigint('volunteer_id', { mode: 'number' }).notNull().references(() => volunteers.id),
  /** `browser` or `node`. */
  kind: text('kind').notNull(),
  /** The `hello` capabilities: job kinds, backends, features, maxJobs. */
  capabilities: jsonb('capabilities').notNull(),
  client_version: text('client_version').notNull(),
  protocol_version: integer('protocol_version').notNull(),
  /** Remote address as seen by the coordinator (for abuse handling, never published). */
  address: text('address'),
  user_agent: text('user_agent'),
  /** Which coordinator process holds the socket now. */
  coordinator_id: text('coordinator_id'),
  connected_at: ts('connected_at').notNull(),
  last_seen_at: ts('last_seen_at').notNull(),
  /** Set on disconnect or `bye`; null while connected. */
  disconnected_at: ts('disconnected_at'),
}, (t) => [
  check('workers_kind_check', sql`${t.kind} in ('browser', 'node')`),
  index('workers_online').on(t.last_seen_at).where(sql`${t.disconnected_at} is null`),
]);

/** A unit of work (BOINC's workunit). Leases live on `assignments`, since one job may have several. */
export const jobs = pgTable('jobs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  kind: text('kind').notNull(),
  payload: jsonb('payload').notNull(),
  state: text('state').notNull().default('queued'),
  /** Features a worker must have (e.g. `fetch:cross-origin`). */
  requires: text('requires').array().notNull().default(sql`'{}'::text[]`),
  /** Higher first; within a priority the order is `shuffle_key`, a random number drawn at insert, so
   * neighbouring jobs (same sites) are not handed out together. */
  priority: integer('priority').notNull().default(0),
  shuffle_key: integer('shuffle_key').notNull().default(sql`floor(random() * 2147483647)::int`),
  /** How many independent results the job needs (2+ for spot-checked jobs; BOINC's target_nresults). */
  replicas: integer('replicas').notNull().default(1),
  /** Assignments handed out so far, over the job's life. */
  attempts: integer('attempts').notNull().default(0),
  /** Assignments currently leased. */
  leased: integer('leased').notNull().default(0),
  /** Assignments completed with a result. */
  completed: integer('completed').notNull().default(0),
  /** Failed or expired assignments; at `max_failures` the job is parked as `failed`. */
  failures: integer('failures').notNull().default(0),
  max_failures: integer('max_failures').notNull().default(5),
  /** Not handed out before this time (backoff after a failure). */
  run_after: ts('run_after').notNull().defaultNow(),
  /** The last failure reasons, newest last, capped: `[{ at, reason, detail, worker }]`. */
  errors: jsonb('errors').notNull().default(sql`'[]'::jsonb`),
  /** Set by ingest: which WAT job produced this job, or which crawl. */
  source: text('source'),
  created_at: ts('created_at').notNull().defaultNow(),
  updated_at: ts('updated_at').notNull().defaultNow(),
  finished_at: ts('finished_at'),
  /** Set once the assimilator has moved this job's accepted result into the dataset tables. */
  assimilated_at: ts('assimilated_at'),
}, (t) => [
  check('jobs_state_check', sql`${t.state} in ('queued', 'active', 'completed', 'failed')`),
  // Claims walk this index in order and stop at the first rows that fit, instead of sorting the queue.
  index('jobs_claim').on(t.priority.desc(), t.shuffle_key).where(sql`${t.state} = 'queued'`),
  index('jobs_state').on(t.state),
  index('jobs_to_assimilate').on(t.id).where(sql`${t.state} = 'completed' and ${t.assimilated_at} is null`),
]);

/** One hand-out of a job to one worker, with its lease (BOINC's result instance). */
export const assignments = pgTable('assignments', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  job_id: bigint('job_id', { mode: 'number' }).notNull().references(() => jobs.id),
  /** The lease token the worker quotes in heartbeat/complete/fail; unguessable, unique. */
  lease_id: uuid('lease_id').notNull(),
  worker_id: uuid('worker_id').notNull().references(() => workers.id),
  volunteer_id: bigint('volunteer_id', { mode: 'number' }).notNull().references(() => volunteers.id),
  state: text('state').notNull().default('leased'),
  leased_at: ts('leased_at').notNull(),
  lease_deadline: ts('lease_deadline').notNull(),
  heartbeat_at: ts('heartbeat_at'),
  /** Last progress report: `{ done, total, unit, bytes }`. */
  progress: jsonb('progress'),
  ended_at: ts('ended_at'),
  /** Why it ended without a result (`lease_expired`, `worker_failed`, ...) and the worker's own reason. */
  end_reason: text('end_reason'),
  fail_reason: text('fail_reason'),
  fail_detail: text('fail_detail'),
  /** Verification outcome, set by the validator (later issue); `pending` until then. */
  validate_state: text('validate_state').notNull().default('pending'),
}, (t) => [
  check('assignments_state_check', sql`${t.state} in ('leased', 'completed', 'failed', 'expired', 'released')`),
  check('assignments_validate_state_check', sql`${t.validate_state} in ('pending', 'valid', 'invalid', 'inconclusive', 'too_late')`),
  uniqueIndex('assignments_lease_id').on(t.lease_id),
  index('assignments_job').on(t.job_id),
  index('assignments_expiry').on(t.lease_deadline).where(sql`${t.state} = 'leased'`),
  index('assignments_worker_leased').on(t.worker_id).where(sql`${t.state} = 'leased'`),
  // credit (GET /api/me) and the leaderboard read completed assignments per volunteer
  index('assignments_volunteer_completed').on(t.volunteer_id, t.validate_state).where(sql`${t.state} = 'completed'`),
]);

/** What a worker sent back for one assignment, kept whole so a validator can compare replicas. */
export const results = pgTable('results', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  assignment_id: bigint('assignment_id', { mode: 'number' }).notNull().references(() => assignments.id),
  job_id: bigint('job_id', { mode: 'number' }).notNull().references(() => jobs.id),
  volunteer_id: bigint('volunteer_id', { mode: 'number' }).notNull().references(() => volunteers.id),
  kind: text('kind').notNull(),
  /** The result body as validated against the kind's schema. */
  body: jsonb('body').notNull(),
  /** Bytes of the JSON body as received; for quotas and audits. */
  body_bytes: integer('body_bytes').notNull(),
  received_at: ts('received_at').notNull(),
  /** Set once an assimilator has moved this result's accepted content into the dataset tables. */
  assimilated: boolean('assimilated').notNull().default(false),
  /** Seconds between lease and completion, as a sanity signal for validators. */
  seconds: doublePrecision('seconds'),
}, (t) => [
  uniqueIndex('results_assignment').on(t.assignment_id),
  index('results_job').on(t.job_id),
]);

/**
 * Image/alt-text candidates found by WAT jobs, deduplicated across the whole crawl on (url, alt), and what
 * their URL job found. Kept pairs (`kept`) with their embedding are the dataset the export reads.
 */
export const candidates = pgTable('candidates', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** md5 of url + newline + alt: the crawl-wide dedup key. */
  key_hash: text('key_hash').notNull(),
  url: text('url').notNull(),
  alt: text('alt').notNull(),
  page_url: text('page_url').notNull(),
  /** Host of `url`, for mixing hosts across URL jobs. */
  host: text('host').notNull(),
  /** ISO 639-1 code, '' when no confident language (LAION's nolang). */
  language: text('language').notNull(),
  language_score: doublePrecision('language_score').notNull(),
  crawl: text('crawl'),
  /** The WAT job that found it first. */
  wat_job_id: bigint('wat_job_id', { mode: 'number' }),
  /** `new` (waiting for a URL job), `packed` (in one), `scored` (its URL job's result is in). */
  state: text('state').notNull().default('new'),
  /** A browser could not read it (no CORS): only agents with `fetch:cross-origin` get it again. */
  needs_cross_origin: boolean('needs_cross_origin').notNull().default(false),
  url_job_id: bigint('url_job_id', { mode: 'number' }),
  /** Outcome of the URL job: status from shared/image/status.ts, and for `ok` the image facts and score. */
  status: text('status'),
  http_status: integer('http_status'),
  width: integer('width'),
  height: integer('height'),
  sha256: text('sha256'),
  similarity: doublePrecision('similarity'),
  kept: boolean('kept'),
  /** float16 image embedding, base64, for kept pairs. */
  embedding: text('embedding'),
  model_hash: text('model_hash'),
  created_at: ts('created_at').notNull().defaultNow(),
  scored_at: ts('scored_at'),
}, (t) => [
  check('candidates_state_check', sql`${t.state} in ('new', 'packed', 'scored')`),
  uniqueIndex('candidates_key').on(t.key_hash),
  index('candidates_to_pack').on(t.needs_cross_origin, t.host).where(sql`${t.state} = 'new'`),
  index('candidates_url_job').on(t.url_job_id),
]);
