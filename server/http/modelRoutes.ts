import express, { Router } from 'express';
import { manifestHash, type ClipManifest } from '../../shared/clip/manifest.ts';
import { loadManifest } from '../clip/modelStore.ts';
import type { Deps } from '../deps.ts';

/** What `GET /api/model` answers: the active CLIP model, its hash, and where its files are served. */
export interface ModelInfo {
  manifest: ClipManifest;
  hash: string;
  filesBase: string;
}

/**
 * Reads the active model's manifest from `config.modelDir` (re-read on each miss, so a model installed
 * while the coordinator runs is picked up) and serves its files under `/models/<id>/`. Files are immutable
 * by sha256, so clients may cache them for good.
 */
export function createModelProvider(modelDir: string | null) {
  let cached: ModelInfo | null = null;
  return async (): Promise<ModelInfo | { error: string; detail: string }> => {
    if (cached) return cached;
    if (!modelDir) return { error: 'no_model', detail: 'this coordinator has no MODEL_DIR' };
    const loaded = await loadManifest(modelDir);
    if (!loaded.ok) return { error: 'no_model', detail: `${loaded.reason}: ${loaded.detail}. Install one with 'crawlswarm model fetch clip-vit-b-32' or 'crawlswarm model synth'.` };
    cached = { manifest: loaded.manifest, hash: await manifestHash(loaded.manifest), filesBase: `/models/${loaded.manifest.id}/` };
    return cached;
  };
}

export function modelRoutes(deps: Deps, provider: ReturnType<typeof createModelProvider>): Router {
  const router = Router();
  router.get('/api/model', async (_req, res) => {
    const info = await provider();
    if ('error' in info) {
      res.status(404).json(info);
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.json(info);
  });
  if (deps.config.modelDir) {
    const files = express.static(deps.config.modelDir, { immutable: true, maxAge: '365d', index: false });
    router.use('/models/:id', async (req, res, next) => {
      const info = await provider();
      if ('error' in info || req.params.id !== info.manifest.id) {
        res.status(404).json({ error: 'not_found', detail: 'no such model' });
        return;
      }
      files(req, res, next);
    });
  }
  return router;
}
