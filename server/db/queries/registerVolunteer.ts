import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';

/** Inserts a volunteer; `taken` when the nickname exists already (case-insensitively). */
export async function registerVolunteer(
  db: Database,
  v: { nickname: string; team: string | null; tokenHash: string },
): Promise<{ ok: true; id: number } | { ok: false; reason: 'taken' }> {
  const rows = await db.rows<{ id: number }>(sql`
    insert into volunteers (nickname, team, token_hash) values (${v.nickname}, ${v.team}, ${v.tokenHash})
    on conflict ((lower(nickname))) do nothing
    returning id::float8 as id`);
  return rows[0] ? { ok: true, id: rows[0].id } : { ok: false, reason: 'taken' };
}
