import { Router } from 'express';
import type { CreditResponse, LeaderboardResponse } from '../../shared/protocol/http.ts';
import { creditOf, leaderboard } from '../db/queries/credit.ts';
import { findVolunteerByTokenHash } from '../db/queries/findVolunteerByToken.ts';
import type { Deps } from '../deps.ts';
import { hashToken } from '../scheduler/auth.ts';

/** How long one leaderboard answer is reused: every open tab asks for it, and it needs no login. */
export const LEADERBOARD_CACHE_MS = 30_000;

/** The volunteer's own credit (token) and the public leaderboard, both from verified work only. */
export function creditRoutes(deps: Deps, cacheMs: number = LEADERBOARD_CACHE_MS): Router {
  const router = Router();
  let cached: { at: number; body: Promise<LeaderboardResponse> } | null = null;
  router.get('/api/me', async (req, res) => {
    const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    const volunteer = token ? await findVolunteerByTokenHash(deps.db, hashToken(token)) : null;
    if (!volunteer) {
      res.status(401).json({ error: 'unauthorized', detail: 'send Authorization: Bearer <your API token>' });
      return;
    }
    const body: CreditResponse = { nickname: volunteer.nickname, team: volunteer.team, ...(await creditOf(deps.db, volunteer.id)) };
    res.set('cache-control', 'no-store').json(body);
  });
  router.get('/api/leaderboard', async (_req, res) => {
    const now = deps.clock.now().getTime();
    // one query for all the requests of a period, also those that arrive while it runs
    if (!cached || now - cached.at >= cacheMs) {
      const body = leaderboard(deps.db);
      cached = { at: now, body };
      body.catch(() => (cached = null));
    }
    res.set('cache-control', `public, max-age=${Math.floor(cacheMs / 1000)}`).json(await cached.body);
  });
  return router;
}
