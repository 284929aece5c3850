import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler } from 'express';
import type { Deps } from '../deps.ts';
import { adminRoutes } from './adminRoutes.ts';
import { creditRoutes } from './creditRoutes.ts';
import { modelRoutes, type createModelProvider } from './modelRoutes.ts';
import { statusRoutes } from './statusRoutes.ts';
import { volunteerRoutes } from './volunteerRoutes.ts';

const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));

export function createApp(deps: Deps, model: ReturnType<typeof createModelProvider>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Cross-origin isolation lets the page's WASM use threads (SharedArrayBuffer). `credentialless` rather
  // than `require-corp`, so that no-cors subresources do not all need CORP headers.
  app.use((_req, res, next) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'credentialless');
    next();
  });
  app.use(express.json({ limit: '64kb' }));
  app.use(statusRoutes(deps));
  app.use(volunteerRoutes(deps));
  app.use(creditRoutes(deps, deps.config.leaderboardCacheMs));
  app.use(modelRoutes(deps, model));
  app.use(adminRoutes(deps));
  if (deps.config.clientDir && existsSync(deps.config.clientDir)) app.use(express.static(deps.config.clientDir));
  app.use(express.static(PUBLIC_DIR));
  app.use('/api', (_req, res) => res.status(404).json({ error: 'not_found', detail: 'no such API route' }));
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const status = typeof err?.status === 'number' ? err.status : 500;
    if (status >= 500) deps.log.error('http error', { error: String(err?.stack ?? err) });
    res.status(status).json({ error: status >= 500 ? 'internal' : 'bad_request', detail: status >= 500 ? 'internal error' : String(err?.message ?? err) });
  };
  app.use(onError);
  return app;
}
