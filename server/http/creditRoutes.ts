import { Router } from 'express';
import type { CreditResponse, LeaderboardResponse } from '../../shared/protocol/http.ts';
import { creditOf, leaderboard } from '../db/queries/credit.ts';
import { findVolunteerByTokenHash } from '../db/queries/findVolunteerByToken.ts';
import type { Deps } from '../deps.ts';
import { hashToken } from '../scheduler/auth.ts';

/** The volunteer's own credit (token) and the public leaderboard, both from verified work only. */
export function creditRoutes(deps: Deps): Router {
  const router = Router();
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
    const body: LeaderboardResponse = await leaderboard(deps.db);
    res.json(body);
  });
  return router;
}
