// The database port: one drizzle instance over either an embedded PGlite (default, zero set-up) or a
// PostgreSQL server (DATABASE_URL, several coordinators may share it). Queries in ./queries take this.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema.ts';

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));

export interface Database {
  kind: 'pglite' | 'postgres';
  /** drizzle, for typed queries. */
  orm: ReturnType<typeof drizzlePglite<typeof schema>> | ReturnType<typeof drizzlePostgres<typeof schema>>;
  /** Runs one SQL statement and returns its rows, the same shape on both drivers. */
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Pick<Database, 'rows' | 'kind'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type DatabaseTarget = { url: string } | { dataDir: string } | { memory: true };

/** Opens the database and applies pending migrations (safe when several coordinators start at once). */
export async function openDatabase(target: DatabaseTarget, opts: { poolSize?: number } = {}): Promise<Database> {
  if ('url' in target) return openPostgres(target.url, opts.poolSize ?? 10);
  let client: PGlite;
  if ('dataDir' in target) {
    mkdirSync(target.dataDir, { recursive: true });
    client = new PGlite(target.dataDir);
  } else {
    client = new PGlite();
  }
  await client.waitReady;
  const orm = drizzlePglite(client, { schema });
  await migratePglite(orm, { migrationsFolder: MIGRATIONS });
  return {
    kind: 'pglite',
    orm,
    async rows<T>(query: SQL) {
      const res = await orm.execute(query);
      return res.rows as T[];
    },
    transaction: (fn) => orm.transaction((tx) => fn({ kind: 'pglite', rows: async <T>(q: SQL) => (await tx.execute(q)).rows as T[] })),
    close: () => client.close(),
  };
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const client = postgres(url, { max: poolSize, onnotice: () => {}, connection: { application_name: 'crawlswarm' } });
  // drizzle's migrator takes no lock; two coordinators starting together would both try to create the
  // tables. A session advisory lock on a one-connection client serialises them.
  const migrator = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrator`select pg_advisory_lock(727214)`;
    await migratePostgres(drizzlePostgres(migrator), { migrationsFolder: MIGRATIONS });
  } finally {
    await migrator.end({ timeout: 5 });
  }
  const orm = drizzlePostgres(client, { schema });
  return {
    kind: 'postgres',
    orm,
    async rows<T>(query: SQL) {
      return (await orm.execute(query)) as unknown as T[];
    },
    transaction: (fn) => orm.transaction((tx) => fn({ kind: 'postgres', rows: async <T>(q: SQL) => (await tx.execute(q)) as unknown as T[] })),
    close: () => client.end({ timeout: 5 }),
  };
}
