import { packCandidates, type PackOptions } from './db/queries/packCandidates.ts';
import type { Deps } from './deps.ts';
import type { createModelProvider } from './http/modelRoutes.ts';

export interface PackerSummary {
  jobs: number;
  candidates: number;
  skipped?: 'no_model';
}

/**
 * Packs waiting candidates into URL jobs for the active model until fewer than a job's worth remain
 * (or everything, with `flush`). Without a model there is nothing to score with, so nothing is packed.
 */
export async function runPackerOnce(
  deps: Pick<Deps, 'db' | 'clock' | 'config' | 'log'>,
  model: ReturnType<typeof createModelProvider>,
  opts: Partial<Pick<PackOptions, 'flush' | 'jobSize' | 'hostCap'>> = {},
): Promise<PackerSummary> {
  const info = await model();
  if ('error' in info) return { jobs: 0, candidates: 0, skipped: 'no_model' };
  const total: PackerSummary = { jobs: 0, candidates: 0 };
  for (;;) {
    const r = await packCandidates(deps.db, {
      jobSize: opts.jobSize ?? deps.config.urlJobSize,
      hostCap: opts.hostCap ?? deps.config.urlJobHostCap,
      flush: opts.flush ?? false,
      model: { id: info.manifest.id, hash: info.hash },
      window: 20_000,
      maxFailures: deps.config.maxFailures,
      now: deps.clock.now(),
    });
    total.jobs += r.jobs;
    total.candidates += r.candidates;
    if (r.jobs === 0) return total;
  }
}
