// Node convenience: open a file or URL (optionally a byte range) and run the shared extraction with zlib.
import { extractWat, type ExtractOptions } from '../../shared/wat/extract.ts';
import type { ExtractSummary } from '../../shared/wat/types.ts';
import { openWatSource, type ByteRange, type SourceFailure } from './source.ts';
import { createZlibMemberInflater } from './zlib-inflater.ts';

export async function extractWatFromLocation(
  location: string,
  opts: ExtractOptions & { range?: ByteRange; signal?: AbortSignal; chunkBytes?: number; fetchFn?: typeof fetch } = {},
): Promise<{ ok: true; summary: ExtractSummary } | SourceFailure> {
  const { range, signal, chunkBytes, fetchFn, ...extractOptions } = opts;
  const source = await openWatSource(location, { range, signal, chunkBytes, fetchFn });
  if (!source.ok) return source;
  const summary = await extractWat(source.chunks, {
    inflater: createZlibMemberInflater(),
    startOffset: source.startOffset,
    endOffset: source.endOffset,
    totalBytes: source.totalBytes,
    ...extractOptions,
  });
  return { ok: true, summary };
}
