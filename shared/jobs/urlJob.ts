// A URL job, the same in the agent and the page: prepare every image (fetch, check, decode, preprocess:
// injected, since a browser and Node do it differently), embed the ones that made it with CLIP in
// batches while the next batch downloads, score each against its alt text, keep or drop, and assemble the
// result with its counts.
import type { ClipSession } from '../clip/runner.ts';
import { toFloat16 } from '../clip/score.ts';
import type { ClipTokenizer } from '../clip/tokenizer.ts';
import { countStatuses, type UrlStatus } from '../image/status.ts';
import type { ExecutionContext, ExecutionOutcome } from '../client/executor.ts';
import type { UrlItemResult, UrlJobItem, UrlPayload, UrlResult } from './url.ts';

/** What preparing one image gave; on `ok` the CHW tensor has been written into `out` at `offset`. */
export interface PreparedImage {
  status: UrlStatus;
  httpStatus: number | null;
  bytes: number;
  width: number | null;
  height: number | null;
  sha256: string | null;
  detail?: string;
}

export interface UrlJobDeps {
  prepare(item: UrlJobItem, out: Float32Array, offset: number, signal: AbortSignal): Promise<PreparedImage>;
  session: Pick<ClipSession, 'embedImages' | 'embedTexts' | 'score' | 'keep' | 'modelHash' | 'manifest'>;
  tokenizer: Pick<ClipTokenizer, 'tokenize'>;
  /** Images prepared at once (fetches in flight); per-host limits live inside `prepare`. */
  concurrency: number;
  /** Images per CLIP batch. */
  batchSize: number;
}

/** Float16 little-endian bytes as base64: how an embedding travels and is stored (1 KB for 512 dims). */
export function encodeEmbedding(values: Float32Array): string {
  const half = toFloat16(values);
  const bytes = new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s);
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

export async function runUrlJob(payload: UrlPayload, deps: UrlJobDeps, ctx: ExecutionContext): Promise<ExecutionOutcome> {
  const { session } = deps;
  const size = session.manifest.imageSize;
  const slot = 3 * size * size;
  const dim = session.manifest.embeddingSize;
  const results: UrlItemResult[] = [];
  const total = payload.items.length;
  let done = 0;

  const prepareBatch = (items: readonly UrlJobItem[]) => {
    const pixels = new Float32Array(items.length * slot);
    return mapLimit(items, deps.concurrency, async (item, i) => {
      if (ctx.signal.aborted) return { status: 'aborted', httpStatus: null, bytes: 0, width: null, height: null, sha256: null } as PreparedImage;
      try {
        return await deps.prepare(item, pixels, i * slot, ctx.signal);
      } catch (err) {
        return { status: 'decode-error', httpStatus: null, bytes: 0, width: null, height: null, sha256: null, detail: String(err).slice(0, 200) } as PreparedImage;
      }
    }).then((prepared) => ({ items, pixels, prepared }));
  };

  const batches: UrlJobItem[][] = [];
  for (let i = 0; i < total; i += deps.batchSize) batches.push(payload.items.slice(i, i + deps.batchSize));
  let pending = batches.length ? prepareBatch(batches[0]!) : null;
  for (let b = 0; b < batches.length; b++) {
    const { items, pixels, prepared } = await pending!;
    // download the next batch while this one runs through CLIP
    pending = b + 1 < batches.length ? prepareBatch(batches[b + 1]!) : null;
    if (ctx.signal.aborted) break;
    const okIdx = prepared.flatMap((p, i) => (p.status === 'ok' ? [i] : []));
    let sims: Float32Array | null = null;
    let imageEmb: Float32Array | null = null;
    if (okIdx.length > 0) {
      const packed = new Float32Array(okIdx.length * slot);
      okIdx.forEach((src, dst) => packed.set(pixels.subarray(src * slot, (src + 1) * slot), dst * slot));
      const tokens = deps.tokenizer.tokenize(okIdx.map((i) => items[i]!.alt), session.manifest.contextLength, true);
      if (!tokens.ok) return { ok: false, reason: 'tokenize_failed', detail: tokens.detail, transient: false };
      const [img, txt] = [await session.embedImages(packed), await session.embedTexts(tokens.inputIds)];
      if (!img.ok) return { ok: false, reason: `clip_${img.reason}`, detail: img.detail, transient: true };
      if (!txt.ok) return { ok: false, reason: `clip_${txt.reason}`, detail: txt.detail, transient: true };
      sims = session.score(img.embeddings, txt.embeddings);
      imageEmb = img.embeddings;
    }
    prepared.forEach((p, i) => {
      const k = okIdx.indexOf(i);
      const similarity = k >= 0 && sims ? Math.max(-1, Math.min(1, sims[k]!)) : null;
      const kept = similarity !== null && session.keep(similarity);
      results.push({
        id: items[i]!.id, url: items[i]!.url, alt: items[i]!.alt, status: p.status, httpStatus: p.httpStatus, bytes: p.bytes, width: p.width, height: p.height, sha256: p.sha256,
        similarity, kept,
        embedding: kept && imageEmb ? encodeEmbedding(imageEmb.subarray(k * dim, (k + 1) * dim)) : null,
        ...(p.detail ? { detail: p.detail.slice(0, 300) } : {}),
      });
    });
    done += items.length;
    ctx.progress({ done, total, unit: 'images' });
  }
  if (ctx.signal.aborted) return { ok: false, reason: 'aborted', detail: 'the job was cancelled', transient: true };
  const result: UrlResult = {
    modelHash: session.modelHash,
    urls: results,
    counts: countStatuses(results.map((r) => r.status as UrlStatus)) as Record<string, number>,
    kept: results.filter((r) => r.kept).length,
  };
  return { ok: true, result };
}
