// The code's idea of the tables comes from server/db/schema.ts, the database's from migrations/ (generated
// from it by drizzle-kit): check that they agree, and that coordinators starting together on one PostgreSQL
// migrate it once between them (the advisory lock in database.ts).
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.ts';
import { createPostgresDatabase, dbBackends } from '../helpers/db.ts';

const ROOT = join(import.meta.dirname, '../..');

describe('migrations', () => {
  it('match the schema: drizzle-kit generate finds nothing to add', async () => {
    // drizzle-kit wants an output folder relative to the working directory
    const rel = join('node_modules', '.cache', `migrations-check-${process.pid}`);
    const out = join(ROOT, rel);
    await rm(out, { recursive: true, force: true });
    await mkdir(join(ROOT, 'node_modules', '.cache'), { recursive: true });
    await cp(join(ROOT, 'migrations'), out, { recursive: true });
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/drizzle-kit/bin.cjs'), 'generate', '--dialect', 'postgresql', '--schema', './server/db/schema.ts', '--out', `./${rel}`], { cwd: ROOT });
      expect(stdout).toMatch(/No schema changes/);
      expect((await readdir(out)).sort()).toEqual((await readdir(join(ROOT, 'migrations'))).sort());
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);
});

// PostgreSQL only (PGlite is one process's own database): runs where TEST_DATABASE_URL is set, as in CI.
describe.each(dbBackends().filter((b) => b === 'postgres'))('migrations on %s', () => {
  it('four coordinators opening a fresh database at once all come up on one schema', async () => {
    const pg = await createPostgresDatabase();
    try {
      const dbs = await Promise.all([1, 2, 3, 4].map(() => openDatabase({ url: pg.url }, { poolSize: 2 })));
      try {
        const applied = await dbs[0]!.rows<{ n: number }>(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
        expect(applied[0]!.n).toBe((await readdir(join(ROOT, 'migrations'))).filter((f) => f.endsWith('.sql')).length);
      } finally {
        await Promise.all(dbs.map((d) => d.close()));
      }
    } finally {
      await pg.drop();
    }
  });
});
