import { z } from 'zod';
import { MAX_PAGE_URL_CHARS } from '../wat/candidates.ts';
import type { JobKind } from './kind.ts';

/**
 * A WAT job: one Common Crawl WAT file, or one slice of it. `slice` {index, count} lets the worker cut the
 * file into `count` byte ranges once it knows the size (no network at ingest time); `range` gives the
 * bytes directly. Every gzip member that starts inside the range is processed (see shared/wat/source.ts).
 */
export const WatPayload = z.object({
  url: z.url({ protocol: /^https?$/ }),
  crawl: z.string().max(40).nullable().default(null),
  slice: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() })
    .refine((s) => s.index < s.count, 'slice.index must be below slice.count').nullable().default(null),
  range: z.object({ start: z.number().int().nonnegative(), end: z.number().int().positive() }).nullable().default(null),
});
export type WatPayload = z.infer<typeof WatPayload>;

export const WatCandidate = z.object({
  url: z.string().min(1).max(2048),
  alt: z.string().min(1).max(2000),
  pageUrl: z.string().max(MAX_PAGE_URL_CHARS),
  language: z.string().max(8),
  languageScore: z.number().min(0).max(1),
});

export const WatSummary = z.object({
  records: z.number().int().nonnegative(),
  metadataRecords: z.number().int().nonnegative(),
  imgLinks: z.number().int().nonnegative(),
  withAlt: z.number().int().nonnegative(),
  candidates: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  damaged: z.boolean(),
  bytes: z.number().nonnegative(),
});

/** Most candidates one WAT result may carry; ingest slices files so that real ones stay well below. */
export const MAX_WAT_CANDIDATES = 200_000;

export const WatResult = z.object({
  summary: WatSummary,
  candidates: z.array(WatCandidate).max(MAX_WAT_CANDIDATES),
}).refine((r) => r.candidates.length === r.summary.candidates, 'summary.candidates must equal the number of candidates sent');
export type WatResult = z.infer<typeof WatResult>;

export const watKind: JobKind<WatPayload, WatResult> = {
  kind: 'wat',
  payload: WatPayload,
  result: WatResult,
  requires: [],
};
