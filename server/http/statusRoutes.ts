import { sql } from 'drizzle-orm';
import { Router } from 'express';
import type { StatsResponse } from '../../shared/protocol/http.ts';
import { jobStats } from '../db/queries/jobStats.ts';
import type { Deps } from '../deps.ts';

export function statusRoutes(deps: Deps): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    try {
      await deps.db.rows(sql`select 1`);
      res.json({ ok: true, database: deps.db.kind, coordinator: deps.config.coordinatorId });
    } catch (err) {
      res.status(503).json({ ok: false, database: deps.db.kind, detail: String(err) });
    }
  });
  router.get('/api/stats', async (_req, res) => {
    const stats = await jobStats(deps.db, { now: deps.clock.now(), onlineWindowMs: deps.config.heartbeatMs * 3 });
    const body: StatsResponse = { ...stats, coordinator: deps.config.coordinatorId };
    res.json(body);
  });
  return router;
}
