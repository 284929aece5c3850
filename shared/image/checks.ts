// The checks every downloaded file goes through before any pixel is decoded, in this order:
// magic bytes (not-image) -> header dimensions (decode-error) -> pixel count (bomb) -> byte size (too-small).
// The order is the same whether the checks run on a prefix while streaming or on the whole file, so a
// file gets the same status whichever way it arrived.
import { readImageHeader, type ImageHeader } from './header.ts';
import type { ImageLimits } from './clip.ts';

export type ImageCheck =
  | { ok: true; header: ImageHeader }
  | { ok: false; status: 'not-image' | 'decode-error' | 'bomb' | 'too-small'; detail: string; header?: ImageHeader };

function headerChecks(bytes: Uint8Array, limits: ImageLimits, complete: boolean): ImageCheck | null {
  const h = readImageHeader(bytes);
  if (!h.ok) {
    if (h.reason === 'not_image') return { ok: false, status: 'not-image', detail: h.detail };
    if (h.reason === 'need_more_bytes') {
      return complete ? { ok: false, status: bytes.length < 16 ? 'not-image' : 'decode-error', detail: 'file ends inside the header' } : null;
    }
    return { ok: false, status: 'decode-error', detail: h.detail };
  }
  const { ok: _ok, ...header } = h;
  const pixels = h.storedWidth * h.storedHeight;
  if (pixels > limits.maxPixels) {
    return { ok: false, status: 'bomb', detail: `${h.format} header claims ${h.storedWidth}x${h.storedHeight} = ${pixels} pixels > ${limits.maxPixels}`, header };
  }
  return { ok: true, header };
}

/** Checks a whole file. */
export function checkImageBytes(bytes: Uint8Array, limits: ImageLimits): ImageCheck {
  const result = headerChecks(bytes, limits, true)!;
  if (!result.ok) return result;
  if (bytes.length < limits.minBytes) return { ok: false, status: 'too-small', detail: `${bytes.length} bytes < ${limits.minBytes}`, header: result.header };
  return result;
}

/** Checks the first bytes of a file still arriving: a rejection when the prefix already decides one
 * (so the download can stop), the header once it is known, or null while undecided. Never says
 * too-small: that needs the whole file. */
export function checkImagePrefix(prefix: Uint8Array, limits: ImageLimits): ImageCheck | null {
  return headerChecks(prefix, limits, false);
}
