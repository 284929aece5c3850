// Node side of the model manifest: read a model directory (manifest.json + onnx files), load files for
// the runner, verify sha256 by streaming, and write files while hashing them.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseManifest, type ClipManifest, type OnnxFile } from '../../shared/clip/manifest.ts';
import type { FileLoader } from '../../shared/clip/runner.ts';

export const MANIFEST_FILE = 'manifest.json';

export type LoadManifestResult =
  | { ok: true; manifest: ClipManifest; dir: string }
  | { ok: false; reason: 'manifest_missing' | 'bad_manifest'; detail: string };

export async function loadManifest(dir: string): Promise<LoadManifestResult> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (e) {
    return { ok: false, reason: 'manifest_missing', detail: `${join(dir, MANIFEST_FILE)}: ${(e as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: 'bad_manifest', detail: `${MANIFEST_FILE} is not JSON: ${(e as Error).message}` };
  }
  const parsed = parseManifest(json);
  return parsed.ok ? { ok: true, manifest: parsed.manifest, dir } : parsed;
}

/** A runner FileLoader reading `file.path` under `dir` (the runner checks sha256 and size). */
export function dirLoader(dir: string): FileLoader {
  return async (file: OnnxFile) => {
    try {
      const buf = await readFile(join(dir, file.path));
      return { ok: true, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
    } catch (e) {
      return { ok: false, reason: 'load_failed', detail: `${file.path}: ${(e as Error).message}` };
    }
  };
}

/** sha256 and size of a file, streamed (a 350 MB model is never held twice). */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export type VerifyResult = { ok: true } | { ok: false; reason: 'sha256_mismatch' | 'load_failed'; detail: string };

/** Checks every file of every variant against the manifest. */
export async function verifyModelDir(dir: string, manifest: ClipManifest): Promise<VerifyResult> {
  for (const v of manifest.variants) {
    for (const f of [v.vision, v.text]) {
      let got: { sha256: string; bytes: number };
      try {
        got = await hashFile(join(dir, f.path));
      } catch (e) {
        return { ok: false, reason: 'load_failed', detail: `${f.path}: ${(e as Error).message}` };
      }
      if (got.sha256 !== f.sha256 || got.bytes !== f.bytes) {
        return { ok: false, reason: 'sha256_mismatch', detail: `${f.path}: sha256 ${got.sha256} (${got.bytes} B), manifest says ${f.sha256} (${f.bytes} B)` };
      }
    }
  }
  return { ok: true };
}

/**
 * Writes chunks to `path` (via a temporary name, renamed at the end) while hashing them; chunks are
 * written in groups with writev, never joined into one buffer.
 */
export async function writeChunksHashed(path: string, chunks: readonly Uint8Array[]): Promise<{ sha256: string; bytes: number }> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.partial`;
  const hash = createHash('sha256');
  let bytes = 0;
  const fh = await open(tmp, 'w');
  try {
    const group: Uint8Array[] = [];
    let groupBytes = 0;
    const flush = async () => {
      // writev may write less than asked; write the rest one buffer at a time.
      let written = (await fh.writev(group)).bytesWritten;
      if (written < groupBytes) {
        let skip = written;
        for (const b of group) {
          if (skip >= b.byteLength) {
            skip -= b.byteLength;
            continue;
          }
          await fh.write(b.subarray(skip));
          written += b.byteLength - skip;
          skip = 0;
        }
      }
      group.length = 0;
      groupBytes = 0;
    };
    for (const c of chunks) {
      hash.update(c);
      bytes += c.byteLength;
      group.push(c);
      groupBytes += c.byteLength;
      if (group.length >= 512 || groupBytes >= 1 << 26) await flush();
    }
    if (group.length) await flush();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  return { sha256: hash.digest('hex'), bytes };
}

export async function writeManifest(dir: string, manifest: ClipManifest): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${MANIFEST_FILE}.partial`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(manifest, null, 2) + '\n');
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, MANIFEST_FILE));
}
