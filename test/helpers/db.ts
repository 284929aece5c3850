// Each test file gets its own database: a fresh in-memory PGlite, and, when TEST_DATABASE_URL (or
// DATABASE_URL) points at a PostgreSQL server, a fresh database created on it. Suites use
// `describe.each(dbBackends())` so the same assertions run on both.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../server/db/database.ts';

export type Backend = 'pglite' | 'postgres';

export function postgresUrl(): string | null {
  return process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || null;
}

export function dbBackends(): Backend[] {
  return postgresUrl() ? ['pglite', 'postgres'] : ['pglite'];
}

export interface TestDatabase {
  db: Database;
  /** A connection URL for other processes (postgres only). */
  url: string | null;
  drop(): Promise<void>;
}

/** Creates an empty database on the test server and returns its URL and a function that drops it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = postgresUrl();
  if (!base) throw new Error('set TEST_DATABASE_URL to run the PostgreSQL half of the suite');
  const name = `cs_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export async function openTestDatabase(backend: Backend, opts: { poolSize?: number } = {}): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const db = await openDatabase({ memory: true });
    return { db, url: null, drop: () => db.close() };
  }
  const pg = await createPostgresDatabase();
  const db = await openDatabase({ url: pg.url }, opts);
  return {
    db,
    url: pg.url,
    async drop() {
      await db.close();
      await pg.drop();
    },
  };
}
