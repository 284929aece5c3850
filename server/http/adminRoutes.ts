import { timingSafeEqual } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import express from 'express';
import { WatJobsRequest } from '../../shared/protocol/admin.ts';
import { CROSS_ORIGIN_FEATURE } from '../../shared/jobs/url.ts';
import type { WatPayload } from '../../shared/jobs/wat.ts';
import { enqueueJobs } from '../db/queries/enqueueJobs.ts';
import type { Deps } from '../deps.ts';

function requireAdmin(token: string | null): RequestHandler {
  return (req, res, next) => {
    const given = Buffer.from(/^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '');
    const want = Buffer.from(token ?? '');
    if (!token || given.length !== want.length || !timingSafeEqual(given, want)) {
      res.status(401).json({ error: 'unauthorized', detail: 'admin routes need Authorization: Bearer <admin token> (see <data-dir>/admin-token)' });
      return;
    }
    next();
  };
}

/** Operator routes: turning a crawl's WAT listing into jobs. */
export function adminRoutes(deps: Deps): Router {
  const router = Router();
  router.post('/api/admin/wat-jobs', requireAdmin(deps.config.adminToken), express.json({ limit: '4mb' }), async (req, res) => {
    const parsed = WatJobsRequest.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: 'bad_request', detail: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      return;
    }
    const r = parsed.data;
    const jobs = r.urls.flatMap((url) => Array.from({ length: r.slices }, (_, index) => ({
      kind: 'wat',
      payload: { url, crawl: r.crawl, slice: { index, count: r.slices }, range: null } satisfies WatPayload,
      // a browser may only read the WAT bytes when their host allows CORS
      requires: r.corsOk ? [] : [CROSS_ORIGIN_FEATURE],
      replicas: r.replicas,
      maxFailures: deps.config.maxFailures,
      source: r.crawl,
    })));
    const ids = await enqueueJobs(deps.db, jobs);
    res.status(201).json({ jobs: ids.length, files: r.urls.length });
  });
  return router;
}
