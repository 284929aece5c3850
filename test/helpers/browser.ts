// Debian's Chromium for browser tests, and the small pieces every such test needs: a worker bundle, a
// loopback server for it, and a fresh profile that is removed afterwards. Never a downloaded browser.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Express } from 'express';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** The machine has no network: without the background-networking flags Chromium keeps trying to reach out. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Without it `navigator.gpu.requestAdapter()` is null; with it, headless Chromium offers SwiftShader. */
export const WEBGPU_ARG = '--enable-unsafe-webgpu';

export interface LaunchedChromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(opts: { webgpu?: boolean; viewport?: { width: number; height: number } } = {}): Promise<LaunchedChromium> {
  const profile = await mkdtemp(join(tmpdir(), 'crawlswarm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    args: opts.webgpu ? [...CHROMIUM_ARGS, WEBGPU_ARG] : CHROMIUM_ARGS,
    ...(opts.viewport ? { viewport: opts.viewport } : {}),
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Bundles a worker (from a file or inline source) into one ES module for the browser. */
export async function bundleForBrowser(
  entry: { file: string } | { source: string; resolveDir: string; name: string },
  opts: { external?: string[] } = {},
): Promise<string> {
  const bundle = await build({
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.source, resolveDir: entry.resolveDir, loader: 'ts' as const, sourcefile: entry.name } }),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    external: opts.external ?? [],
  });
  return bundle.outputFiles[0]!.text;
}

/** Listens on an ephemeral loopback port. */
export async function listenLoopback(app: Express): Promise<{ origin: string; server: Server; close(): Promise<void> }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return { origin: `http://127.0.0.1:${addr.port}`, server, close: () => new Promise<void>((r) => server.close(() => r())) };
}
