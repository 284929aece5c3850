import { sql } from 'drizzle-orm';
import type { CreditCount, CreditResponse, LeaderboardResponse } from '../../../shared/protocol/http.ts';
import type { Database } from '../database.ts';

// Credit is counted from completed assignments and their results, by the validator's verdict. Until the
// validator (a later issue) marks an assignment `valid`, it is pending (`inconclusive` too: it waits for more
// replicas); `invalid` is rejected, and `too_late` (the job was decided without it) earns nothing. Nothing
// unverified reaches the leaderboard. An image is a URL the worker scored (`counts.ok`, which the coordinator
// checked against the per-URL outcomes on upload); a WAT job earns the job, no images.
const IMAGES = sql`coalesce((r.body->'counts'->>'ok')::int, 0)`;

const zero = (): CreditCount => ({ jobs: 0, images: 0 });

export async function creditOf(db: Database, volunteerId: number): Promise<Omit<CreditResponse, 'nickname' | 'team'>> {
  const rows = await db.rows<{ verdict: string; jobs: number; images: number }>(sql`
    select case a.validate_state when 'valid' then 'verified' when 'invalid' then 'rejected' else 'pending' end as verdict,
           count(*)::int as jobs, coalesce(sum(${IMAGES}), 0)::int as images
    from assignments a join results r on r.assignment_id = a.id
    where a.volunteer_id = ${volunteerId} and a.state = 'completed' and a.validate_state <> 'too_late'
    group by 1`);
  const out = { pending: zero(), verified: zero(), rejected: zero() };
  for (const r of rows) out[r.verdict as keyof typeof out] = { jobs: r.jobs, images: r.images };
  return out;
}

export async function leaderboard(db: Database, limit = 50): Promise<LeaderboardResponse> {
  const volunteers = await db.rows<{ name: string; team: string | null; jobs: number; images: number }>(sql`
    select v.nickname as name, v.team, count(*)::int as jobs, coalesce(sum(${IMAGES}), 0)::int as images
    from assignments a join results r on r.assignment_id = a.id join volunteers v on v.id = a.volunteer_id
    where a.state = 'completed' and a.validate_state = 'valid'
    group by v.id order by images desc, jobs desc, v.nickname limit ${limit}`);
  const teams = await db.rows<{ name: string; jobs: number; images: number }>(sql`
    select v.team as name, count(*)::int as jobs, coalesce(sum(${IMAGES}), 0)::int as images
    from assignments a join results r on r.assignment_id = a.id join volunteers v on v.id = a.volunteer_id
    where a.state = 'completed' and a.validate_state = 'valid' and v.team is not null
    group by v.team order by images desc, jobs desc, v.team limit ${limit}`);
  return { volunteers, teams };
}
