// Module worker for the headless-Chromium test: runs the shared runner with onnxruntime-web, loading the
// model over HTTP from /model/ and onnxruntime-web from /ort/ (both served by the test).
// @ts-expect-error -- resolved by the browser at run time (served from node_modules/onnxruntime-web/dist)
import * as ortModule from '/ort/ort.min.mjs';
import { createOrtWebBackend, type OrtModule } from '../../../shared/clip/ortWeb.ts';
import { createClipSession, fetchLoader } from '../../../shared/clip/runner.ts';
import { parseManifest, type Device, type ModelDtype } from '../../../shared/clip/manifest.ts';

const ort = ortModule as OrtModule & { env: { wasm: { wasmPaths: string; numThreads: number } } };
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;

interface Request {
  devices: Device[];
  dtype: ModelDtype;
  pixels: number[];
  rows: number[][];
}

const load = fetchLoader('/model/');

self.onmessage = async (event: MessageEvent<Request>) => {
  const req = event.data;
  try {
    const parsed = parseManifest(await (await fetch('/model/manifest.json')).json());
    if (!parsed.ok) throw new Error(parsed.detail);
    const backend = createOrtWebBackend(ort);
    const r = await createClipSession({ manifest: parsed.manifest, backend, devices: req.devices, load, dtype: req.dtype });
    if (!r.ok) {
      postMessage({ ok: false, reason: r.reason, detail: r.detail, backendDevices: backend.devices });
      return;
    }
    const images = await r.session.embedImages(Float32Array.from(req.pixels));
    const texts = await r.session.embedTexts(req.rows);
    if (!images.ok || !texts.ok) throw new Error(JSON.stringify([images, texts]));
    postMessage({
      ok: true,
      device: r.session.device,
      dtype: r.session.variant.dtype,
      backendDevices: backend.devices,
      attempts: r.session.attempts,
      modelHash: r.session.modelHash,
      images: Array.from(images.embeddings),
      texts: Array.from(texts.embeddings),
      scores: Array.from(r.session.score(images.embeddings, texts.embeddings)),
    });
    await r.session.release();
  } catch (e) {
    postMessage({ ok: false, reason: 'exception', detail: String((e as Error).stack ?? e) });
  }
};
