import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';

export interface VolunteerRow {
  id: number;
  nickname: string;
  team: string | null;
}

export async function findVolunteerByTokenHash(db: Database, tokenHash: string): Promise<VolunteerRow | null> {
  const rows = await db.rows<{ id: number; nickname: string; team: string | null }>(sql`
    select id::float8 as id, nickname, team from volunteers where token_hash = ${tokenHash}`);
  return rows[0] ?? null;
}
