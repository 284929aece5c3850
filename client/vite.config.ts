// The volunteer page: Svelte 5 app + module Web Worker, built into client/dist (served by the coordinator at `/`).
// onnxruntime-web is not bundled: its ESM entry and WASM files are copied to dist/ort/ and loaded by the worker
// at run time only after Start, so the first visit downloads a small page, and the 28 MB WASM only when needed.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig, type Plugin } from 'vite';

const ROOT = import.meta.dirname;
const ORT_DIST = join(ROOT, '..', 'node_modules', 'onnxruntime-web', 'dist');
/** ort.min.mjs has the WebGPU and WASM execution providers; it imports the jsep WASM glue next to itself. */
export const ORT_FILES = ['ort.min.mjs', 'ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

function copyOrt(): Plugin {
  return {
    name: 'crawlswarm-copy-ort',
    // `vite` (dev server): serve the same files at /ort/ straight from node_modules.
    configureServer(server) {
      server.middlewares.use('/ort', (req, res, next) => {
        const name = (req.url ?? '').replace(/^\//, '').split('?')[0] ?? '';
        if (!ORT_FILES.includes(name)) return next();
        res.setHeader('content-type', name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        res.end(readFileSync(join(ORT_DIST, name)));
      });
    },
    writeBundle(options) {
      const out = join(options.dir ?? join(ROOT, 'dist'), 'ort');
      mkdirSync(out, { recursive: true });
      for (const f of ORT_FILES) copyFileSync(join(ORT_DIST, f), join(out, f));
    },
  };
}

export default defineConfig({
  root: ROOT,
  base: '/',
  // public/ (the CLIP vocabulary) is served by the coordinator itself; no need to copy it.
  publicDir: false,
  plugins: [svelte(), copyOrt()],
  worker: { format: 'es' },
  // The dev server needs the coordinator's API and COOP/COEP: run the coordinator and proxy to it.
  server: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless' },
    proxy: Object.fromEntries(['/api', '/socket.io', '/models', '/clip'].map((p) => [p, { target: process.env.COORDINATOR_URL ?? 'http://127.0.0.1:8080', ws: p === '/socket.io' }])),
  },
  build: {
    outDir: join(ROOT, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
});
