import { z } from 'zod';
import { URL_STATUSES } from '../image/status.ts';
import type { JobKind } from './kind.ts';

/** A URL job: a batch of candidates to fetch and CLIP-score with the named model. */
export const UrlJobItem = z.object({
  /** The candidate's id in the coordinator's database. */
  id: z.number().int().nonnegative(),
  url: z.string().min(1).max(2048),
  alt: z.string().min(1).max(2000),
  language: z.string().max(8).default(''),
});
export type UrlJobItem = z.infer<typeof UrlJobItem>;

export const UrlPayload = z.object({
  /** Which model to score with: its manifest id and hash (results record the hash). */
  model: z.object({ id: z.string().min(1).max(80), hash: z.string().regex(/^[0-9a-f]{64}$/) }),
  items: z.array(UrlJobItem).min(1).max(2000),
});
export type UrlPayload = z.infer<typeof UrlPayload>;

export const UrlItemResult = z.object({
  id: z.number().int().nonnegative(),
  /** The candidate's URL and alt text as the worker scored them; the coordinator refuses a result whose pairs
   * are not the job's own, and validators and the dataset read them without a join. */
  url: z.string().min(1).max(2048),
  alt: z.string().min(1).max(2000),
  status: z.enum(URL_STATUSES as [string, ...string[]]),
  httpStatus: z.number().int().nullable(),
  bytes: z.number().int().nonnegative(),
  width: z.number().int().positive().nullable(),
  height: z.number().int().positive().nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  /** Cosine similarity of the image and alt-text embeddings; null unless status is `ok`. */
  similarity: z.number().min(-1).max(1).nullable(),
  kept: z.boolean(),
  /** The image embedding as float16, base64; only for kept pairs (the dataset keeps them). */
  embedding: z.string().max(4096).nullable(),
  detail: z.string().max(300).optional(),
});
export type UrlItemResult = z.infer<typeof UrlItemResult>;

export const UrlResult = z.object({
  modelHash: z.string().regex(/^[0-9a-f]{64}$/),
  urls: z.array(UrlItemResult).max(2000),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  kept: z.number().int().nonnegative(),
});
export type UrlResult = z.infer<typeof UrlResult>;

export const urlKind: JobKind<UrlPayload, UrlResult> = {
  kind: 'url',
  payload: UrlPayload,
  result: UrlResult,
  requires: [],
  answers: urlResultAnswers,
};

/** A URL result must report each of the job's candidates exactly once, with the job's own url and alt. */
export function urlResultAnswers(payload: UrlPayload, result: UrlResult): string | null {
  const items = new Map(payload.items.map((i) => [i.id, i]));
  const seen = new Set<number>();
  for (const u of result.urls) {
    const item = items.get(u.id);
    if (!item) return `candidate ${u.id} is not in this job`;
    if (seen.has(u.id)) return `candidate ${u.id} is reported twice`;
    seen.add(u.id);
    if (u.url !== item.url || u.alt !== item.alt) return `candidate ${u.id} has another url or alt than the job sent`;
  }
  if (seen.size !== items.size) return `${items.size - seen.size} of the job's ${items.size} candidates are missing`;
  // The totals are what credit and progress read: they must be the per-URL outcomes', not a claim of their own.
  const tally: Record<string, number> = {};
  for (const u of result.urls) tally[u.status] = (tally[u.status] ?? 0) + 1;
  const keys = new Set([...Object.keys(tally), ...Object.keys(result.counts)]);
  for (const k of keys) if ((tally[k] ?? 0) !== (result.counts[k] ?? 0)) return `counts.${k} is ${result.counts[k] ?? 0}, the URLs say ${tally[k] ?? 0}`;
  const kept = result.urls.filter((u) => u.kept).length;
  if (result.kept !== kept) return `kept is ${result.kept}, the URLs say ${kept}`;
  for (const u of result.urls) if (u.kept && (u.status !== 'ok' || u.similarity === null)) return `candidate ${u.id} is kept without a score`;
  return null;
}

/** The capability an agent declares and a browser lacks: reading cross-origin bytes without CORS. */
export const CROSS_ORIGIN_FEATURE = 'fetch:cross-origin';
