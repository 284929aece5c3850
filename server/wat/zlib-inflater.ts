// Node's zlib for gzip members: about twice as fast as DecompressionStream (no stream object per member).
import { gunzipSync } from 'node:zlib';
import { classifyInflateError, type MemberInflater } from '../../shared/wat/gzip.ts';

/** Inflates one gzip member synchronously (members are small: one WARC record each). */
export function createZlibMemberInflater(): MemberInflater {
  return {
    inflate(member, maxOutputBytes) {
      try {
        // gunzipSync checks the CRC32 and ISIZE trailer, which is what validates a tentative split.
        const out = gunzipSync(member, { maxOutputLength: Math.max(1, maxOutputBytes) });
        return { ok: true, bytes: out };
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
          return { ok: false, reason: 'member_too_large', detail: `inflates past ${maxOutputBytes} bytes` };
        }
        return classifyInflateError(e);
      }
    },
  };
}
