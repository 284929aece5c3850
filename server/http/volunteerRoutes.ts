import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import { RegisterRequest, type RegisterResponse } from '../../shared/protocol/http.ts';
import { registerVolunteer } from '../db/queries/registerVolunteer.ts';
import type { Deps } from '../deps.ts';
import { hashToken } from '../scheduler/auth.ts';

export function volunteerRoutes(deps: Deps): Router {
  const router = Router();
  router.post('/api/volunteers', async (req, res) => {
    const parsed = RegisterRequest.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: 'bad_request', detail: parsed.error.issues.map((i) => i.message).join('; ') });
      return;
    }
    const token = randomBytes(32).toString('base64url');
    const team = parsed.data.team ?? null;
    const r = await registerVolunteer(deps.db, { nickname: parsed.data.nickname, team, tokenHash: hashToken(token) });
    if (!r.ok) {
      res.status(409).json({ error: 'nickname_taken', detail: `the nickname '${parsed.data.nickname}' is taken; choose another` });
      return;
    }
    const body: RegisterResponse = { id: r.id, nickname: parsed.data.nickname, team, token };
    res.status(201).json(body);
  });
  return router;
}
