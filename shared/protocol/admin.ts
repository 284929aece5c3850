import { z } from 'zod';

/** POST /api/admin/wat-jobs (Bearer admin token): one WAT job per file slice. */
export const WatJobsRequest = z.object({
  crawl: z.string().max(40).nullable().default(null),
  urls: z.array(z.url({ protocol: /^https?$/ })).min(1).max(10_000),
  /** Slices per file (Crawling@Home used two per WAT file). */
  slices: z.number().int().min(1).max(256).default(2),
  /** The WAT host allows cross-origin reads (CORS), so browsers may take these jobs too. */
  corsOk: z.boolean().default(false),
  replicas: z.number().int().min(1).max(5).default(1),
});
export type WatJobsRequest = z.infer<typeof WatJobsRequest>;
export const WatJobsResponse = z.object({ jobs: z.number().int(), files: z.number().int() });
