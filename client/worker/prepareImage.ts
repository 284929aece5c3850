// The browser's half of a URL job: fetch one candidate image the way a page may (CORS), run the shared checks
// on the bytes BEFORE anything decodes them, then decode with createImageBitmap and resize/crop with Pillow's
// BICUBIC (resample.ts) into the CLIP tensor. The rest of the job (batching, CLIP, scoring) is shared/jobs/urlJob.ts.
//
// What a browser cannot do, said plainly:
// - It may read the bytes only when the image's server sends Access-Control-Allow-Origin. A cross-origin read
//   without it fails with a bare TypeError, exactly like a refused connection. We tell the two apart with one
//   `no-cors` request cut as soon as its headers arrive: if that answers, the host is up and only CORS stood in
//   the way (status `cors`, which the coordinator hands to agents); if it fails too, `connect-error`.
// - It sees X-Robots-Tag only when the server exposes it (Access-Control-Expose-Headers); when hidden we cannot
//   honour it. Redirect hops are not visible either.
// - It cannot see the address a name resolves to, so the private-network guard covers IP literals and local
//   names only (checkUrlHost); a public name that resolves or redirects to a private address is left to the
//   browser's Private Network Access rules. Agents check every address they connect to.
import { checkImageBytes, checkImagePrefix } from '../../shared/image/checks.ts';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from '../../shared/image/clip.ts';
import { sha256HexWeb } from '../../shared/image/hash.ts';
import type { ImageHeader } from '../../shared/image/header.ts';
import { checkXRobotsTag } from '../../shared/image/robots.ts';
import { checkUrlHost } from '../../shared/net/address.ts';
import { pixelsToClipTensor, tablesFor } from '../../shared/image/tensor.ts';
import type { PreparedImage, UrlJobDeps } from '../../shared/jobs/urlJob.ts';
import type { UrlJobItem } from '../../shared/jobs/url.ts';
import type { ByteBucket, HostSlots } from './limits.ts';
import { resizeCropPillowBicubic } from './resample.ts';

/** Decodes checked bytes into size x size RGBA pixels (resize shorter side to `size`, centre crop). */
export type DecodeToClip = (bytes: Uint8Array, header: ImageHeader, size: number) => Promise<Uint8ClampedArray>;

export interface BrowserPrepareOptions {
  fetchFn: typeof fetch;
  hosts: HostSlots;
  bucket: ByteBucket | null;
  decode: DecodeToClip;
  /** Side of the CLIP input (manifest.imageSize). */
  size: number;
  /** The model's normalisation (manifest mean and std); CLIP's by default. */
  mean?: readonly number[];
  std?: readonly number[];
  limits?: ImageLimits;
  /** Body cap, checked against Content-Length and while streaming. Default 10 MiB (as the agent). */
  maxBytes?: number;
  /** Whole budget of one URL once its host slot is held. Default 20 s (as the agent). */
  timeoutMs?: number;
  /** Tell CORS refusals from network errors with a cut-short no-cors request. Default true. */
  probeCors?: boolean;
  /** Fetch loopback, private and local-name hosts too; only when the page itself comes from such a host. */
  allowPrivate?: boolean;
  /** "Images downloaded at once" for the whole tab (read per image, so a new setting applies to the next). */
  tabSlots?: () => HostSlots;
}

const EMPTY = { httpStatus: null, bytes: 0, width: null, height: null, sha256: null } as const;

function outcome(status: PreparedImage['status'], detail: string, extra: Partial<PreparedImage> = {}): PreparedImage {
  return { ...EMPTY, status, detail: detail.slice(0, 300), ...extra };
}

/** torchvision Resize(size): shorter side becomes `size`, the longer int(size * long / short). */
export function clipResizeDims(width: number, height: number, size: number): [number, number] {
  return width <= height ? [size, Math.floor((size * height) / width)] : [Math.floor((size * width) / height), size];
}

/** Python's round() (half to even), which torchvision's CenterCrop offsets use. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Above this many pixels the full-size RGBA copy gets heavy; such images use the browser's resampler. */
export const PILLOW_RESIZE_MAX_PIXELS = 24_000_000;

/**
 * createImageBitmap decodes (EXIF orientation applied, no colour conversion: Pillow ignores ICC profiles),
 * an OffscreenCanvas gives the RGBA pixels, and Pillow's BICUBIC resize (resample.ts) makes the CLIP crop,
 * so the page's input matches openai/CLIP's preprocessing and the agent's. Worker-safe.
 */
export const decodeWithImageBitmap: DecodeToClip = async (bytes, header, size) => {
  const [nw, nh] = clipResizeDims(header.width, header.height, size);
  const left = roundHalfEven((nw - size) / 2);
  const top = roundHalfEven((nh - size) / 2);
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>]);
  const common = { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' } as const;
  const exact = header.width * header.height <= PILLOW_RESIZE_MAX_PIXELS;
  const bitmap = await createImageBitmap(blob, exact ? common : { ...common, resizeWidth: nw, resizeHeight: nh, resizeQuality: 'high' });
  try {
    const w = bitmap.width;
    const h = bitmap.height;
    const canvas = new OffscreenCanvas(exact ? w : size, exact ? h : size);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2d context on OffscreenCanvas');
    if (!exact) {
      ctx.drawImage(bitmap, -left, -top);
      return ctx.getImageData(0, 0, size, size).data;
    }
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, w, h).data;
    return resizeCropPillowBicubic(rgba, w, h, { width: nw, height: nh, left, top, cropWidth: size, cropHeight: size });
  } finally {
    bitmap.close();
  }
};

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export function createBrowserPrepare(opts: BrowserPrepareOptions): UrlJobDeps['prepare'] {
  const limits = opts.limits ?? DEFAULT_IMAGE_LIMITS;
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  const timeoutMs = opts.timeoutMs ?? 20_000;

  async function corsOrNetwork(url: string, error: unknown, signal: AbortSignal): Promise<PreparedImage> {
    const message = (error as Error)?.message ?? String(error);
    if (opts.probeCors === false) return outcome('cors', `browser could not read it (${message}); CORS or network`);
    const probe = new AbortController();
    const onAbort = () => probe.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // Resolves at the headers; aborting right after means the body is not downloaded.
      await opts.fetchFn(url, { mode: 'no-cors', credentials: 'omit', redirect: 'follow', signal: probe.signal });
      return outcome('cors', 'the host answers but does not allow cross-origin reads (no Access-Control-Allow-Origin)');
    } catch {
      if (signal.aborted) return outcome(signal.reason?.message === 'timeout' ? 'timeout' : 'aborted', message);
      return outcome('connect-error', `no answer from the host (${message})`);
    } finally {
      probe.abort();
      signal.removeEventListener('abort', onAbort);
    }
  }

  return async (item: UrlJobItem, out: Float32Array, offset: number, jobSignal: AbortSignal): Promise<PreparedImage> => {
    let url: URL;
    try {
      url = new URL(item.url);
    } catch {
      return outcome('bad-url', 'not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return outcome('bad-url', `scheme ${url.protocol}`);
    // Checked before any request: a GET to a router's admin page does harm even when CORS hides the answer.
    const host = checkUrlHost(url.hostname, opts.allowPrivate);
    if (!host.ok) return outcome('blocked-address', host.detail);
    let releaseHost: () => void;
    try {
      releaseHost = await opts.hosts.acquire(url.host, jobSignal);
    } catch {
      return outcome('aborted', 'the job was cancelled while waiting for the host');
    }
    // Then one of the tab's download slots, shared by all its jobs: taken after the host's, so that images
    // queued behind a busy host do not hold slots that other hosts' images could use.
    let releaseTab: () => void = () => {};
    if (opts.tabSlots) {
      try {
        releaseTab = await opts.tabSlots().acquire('tab', jobSignal);
      } catch {
        releaseHost();
        return outcome('aborted', 'the job was cancelled while waiting for a download slot');
      }
    }
    const release = () => {
      releaseTab();
      releaseHost();
    };
    // The time budget starts once we hold the host's slot: queueing behind slow downloads is not a timeout.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
    const onJobAbort = () => controller.abort(new Error('aborted'));
    jobSignal.addEventListener('abort', onJobAbort, { once: true });
    const stopped = (): PreparedImage | null =>
      controller.signal.aborted ? outcome(jobSignal.aborted ? 'aborted' : 'timeout', jobSignal.aborted ? 'the job was cancelled' : `no complete answer within ${timeoutMs} ms`) : null;
    try {
      let res: Response;
      try {
        res = await opts.fetchFn(url.toString(), { mode: 'cors', credentials: 'omit', redirect: 'follow', signal: controller.signal });
      } catch (e) {
        return stopped() ?? (await corsOrNetwork(url.toString(), e, controller.signal));
      }
      const httpStatus = res.status;
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => {});
        return outcome('http-error', `HTTP ${res.status}`, { httpStatus });
      }
      // Readable only if the server exposes it (or sends it same-origin); see the note at the top.
      const robots = checkXRobotsTag(res.headers.get('x-robots-tag'));
      if (robots.optOut) {
        await res.body.cancel().catch(() => {});
        return outcome('opt-out', `X-Robots-Tag ${robots.matched}`, { httpStatus });
      }
      const declared = Number(res.headers.get('content-length') ?? NaN);
      if (Number.isFinite(declared) && declared > maxBytes) {
        await res.body.cancel().catch(() => {});
        return outcome('too-large', `Content-Length ${declared} > ${maxBytes}`, { httpStatus });
      }
      const reader = res.body.getReader();
      const parts: Uint8Array[] = [];
      let total = 0;
      let headerKnown = false;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
          total += value.byteLength;
          if (total > maxBytes) {
            await reader.cancel().catch(() => {});
            return outcome('too-large', `body passed ${maxBytes} bytes`, { httpStatus, bytes: total });
          }
          if (!headerKnown && total <= 1024 * 1024) {
            // Bombs and non-images are refused from the first bytes, before the rest is downloaded.
            const early = checkImagePrefix(concat(parts, total), limits);
            if (early && !early.ok) {
              await reader.cancel().catch(() => {});
              return outcome(early.status, early.detail, { httpStatus, bytes: total, width: early.header?.width ?? null, height: early.header?.height ?? null });
            }
            if (early?.ok) headerKnown = true;
          }
          if (opts.bucket) await opts.bucket.take(value.byteLength, controller.signal);
        }
      } catch (e) {
        return stopped() ?? outcome('connect-error', `the download broke off: ${(e as Error).message}`, { httpStatus, bytes: total });
      }
      const bytes = concat(parts, total);
      const sha256 = await sha256HexWeb(bytes);
      const check = checkImageBytes(bytes, limits);
      if (!check.ok) {
        return outcome(check.status, check.detail, { httpStatus, bytes: total, sha256, width: check.header?.width ?? null, height: check.header?.height ?? null });
      }
      const { header } = check;
      let rgba: Uint8ClampedArray;
      try {
        rgba = await opts.decode(bytes, header, opts.size);
      } catch (e) {
        return outcome('decode-error', (e as Error).message || 'the browser could not decode it', { httpStatus, bytes: total, sha256, width: header.width, height: header.height });
      }
      pixelsToClipTensor(rgba, { width: opts.size, height: opts.size, channels: 4 }, out, offset, opts.mean && opts.std ? tablesFor(opts.mean, opts.std) : undefined);
      return { status: 'ok', httpStatus, bytes: total, width: header.width, height: header.height, sha256 };
    } finally {
      clearTimeout(timer);
      jobSignal.removeEventListener('abort', onJobAbort);
      release();
    }
  };
}
