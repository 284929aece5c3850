// Node's zlib for gzip members: one synchronous call per member (members are small: one WARC record
// each), no stream object per member.
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { classifyInflateError, gzipHeaderLength, type InflateResult, type MemberInflater } from '../../shared/wat/gzip.ts';

/** Inflates one gzip member synchronously; gunzipSync checks the CRC32 and ISIZE trailer. */
export function createZlibMemberInflater(): MemberInflater {
  return {
    // gunzipSync reads concatenated members, checking each one's trailer.
    multiMember: true,
    inflate(member, maxOutputBytes) {
      const maxOutputLength = Math.max(1, maxOutputBytes);
      try {
        return { ok: true, bytes: gunzipSync(member, { maxOutputLength, chunkSize: member.byteLength > 65536 ? 1 << 20 : 16 * 1024 }) };
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
          return { ok: false, reason: 'member_too_large', detail: `inflates past ${maxOutputBytes} bytes` };
        }
        const failed = classifyInflateError(e);
        // zlib read the member, then found bytes that are not a gzip header after it.
        if (/incorrect header check/.test(failed.detail)) return exactMember(member, maxOutputLength) ?? failed;
        return failed;
      }
    },
  };
}

/** Raw-inflates the first member alone to learn its exact length; its trailer's ISIZE must match. */
function exactMember(member: Uint8Array, maxOutputLength: number): InflateResult | null {
  const header = gzipHeaderLength(member);
  if (header < 0) return null;
  try {
    const { buffer, engine } = inflateRawSync(member.subarray(header), { info: true, maxOutputLength }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    const end = header + engine.bytesWritten;
    if (end + 8 > member.byteLength) return null;
    const isize = (member[end + 4]! | (member[end + 5]! << 8) | (member[end + 6]! << 16) | (member[end + 7]! << 24)) >>> 0;
    if (isize !== buffer.byteLength >>> 0) return null;
    return { ok: true, bytes: buffer, memberBytes: end + 8 };
  } catch {
    return null;
  }
}
