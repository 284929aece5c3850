// Images per second per core for the agent's URL path: safe fetch + checks + sharp decode + CLIP tensor,
// from a loopback web server with 64 requests in flight (32 loopback "hosts" x the default per-host limit
// of 2), for a JPEG mix and a PNG mix. The server runs in a CHILD PROCESS (plain node:http serving the
// fixture files from memory), so its CPU is not counted in ours; it still competes for the same cores.
// "Per core" = images / CPU seconds of this process (user + system, which includes libvips' threads).
// Baseline in the same run: decode + preprocess only, the same files from memory, 64 in flight.
// For scale: img2dataset reaches ~1,300 images/s on 16 cores, ~80 per core, with resizing.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Bench, BenchResult } from './bench.ts';
import { createFetcher } from '../../server/fetch/fetcher.ts';
import { fetchAndPrepare } from '../../server/image/pipeline.ts';
import { prepareImage } from '../../server/image/prepare.ts';
import { CLIP_TENSOR_LENGTH } from '../../shared/image/clip.ts';

const IMAGES = join(import.meta.dirname, '..', 'fixtures', 'images');
const MIXES: Record<string, string[]> = {
  jpeg: ['skimage-rocket.jpg', 'skimage-rocket-progressive.jpg', 'rocket-exif6.jpg', 'pillow-hopper.jpg'],
  png: ['coco-val2017-000000039769.png', 'skimage-chelsea.png', 'skimage-coffee.png', 'skimage-camera.png', 'skimage-horse.png', 'CLIP.png'],
};
const HOSTS = Array.from({ length: 32 }, (_, i) => `127.0.0.${i + 2}`);
const IN_FLIGHT = 64;

const SERVER = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const dir = process.argv[1], ips = JSON.parse(process.argv[2]);
const files = new Map(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
let ready = 0; const ports = {};
for (const ip of ips) {
  const s = http.createServer((req, res) => {
    const name = decodeURIComponent(req.url.split('?')[0].slice(1)); const b = files.get(name);
    if (!b) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.length }); res.end(b);
  });
  s.keepAliveTimeout = 30000;
  s.listen(0, ip, () => { ports[ip] = s.address().port; if (++ready === ips.length) process.send(ports); });
}`;

async function startServer(): Promise<{ ports: Record<string, number>; stop(): void }> {
  const child = fork('-e', [SERVER, IMAGES, JSON.stringify(HOSTS)], { execArgv: ['-e', SERVER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Record<string, number>));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench server exited ${code}`)));
  });
  return { ports, stop: () => void child.kill() };
}

/** Runs `task(i)` for i < n with `width` in flight; returns wall and CPU seconds. */
async function measure(n: number, width: number, task: (i: number) => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await task(next++);
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

const bench: Bench = {
  name: 'fetch',
  async run(ctx) {
    const n = ctx.quick ? 192 : 1536;
    const server = await startServer();
    const results: BenchResult[] = [];
    const note = (m: { wall: number; cpu: number }, extra: string) =>
      `${n} images, ${IN_FLIGHT} in flight, ${(m.cpu / m.wall).toFixed(2)} of ${cpus().length} cores used, ${(n / m.wall).toFixed(0)} images/s total; ${extra}`;
    try {
      for (const [mix, files] of Object.entries(MIXES)) {
        const bytes = files.map((f) => new Uint8Array(readFileSync(join(IMAGES, f))));
        // One batch tensor slot per worker, reused, as the CLIP runner would.
        const batch = new Float32Array(IN_FLIGHT * CLIP_TENSOR_LENGTH);
        // Warm-up: sharp/libvips start-up and JIT, not counted.
        await measure(32, 8, async (i) => {
          await prepareImage(bytes[i % bytes.length]!);
        });
        const decode = await measure(n, IN_FLIGHT, async (i) => {
          const r = await prepareImage(bytes[i % bytes.length]!, { out: batch, offset: (i % IN_FLIGHT) * CLIP_TENSOR_LENGTH });
          if (!r.ok) throw new Error(`${files[i % files.length]}: ${r.status}`);
        });
        const fetcher = createFetcher({ allowAddresses: HOSTS, concurrency: IN_FLIGHT });
        const url = (i: number) => `http://${HOSTS[i % HOSTS.length]}:${server.ports[HOSTS[i % HOSTS.length]!]}/${files[i % files.length]}?i=${i}`;
        const fetchOnly = await measure(n, IN_FLIGHT, async (i) => {
          const r = await fetcher.fetchImage(url(i));
          if (!r.ok) throw new Error(`${url(i)}: ${r.status} ${r.detail}`);
        });
        const full = await measure(n, IN_FLIGHT, async (i) => {
          const { result } = await fetchAndPrepare(fetcher, url(i), { out: batch, offset: (i % IN_FLIGHT) * CLIP_TENSOR_LENGTH });
          if (result.status !== 'ok') throw new Error(`${url(i)}: ${result.status} ${result.detail}`);
        });
        await fetcher.close();
        const decodePerCore = n / decode.cpu;
        results.push({
          name: `fetch+check+decode+preprocess ${mix} per core`,
          value: n / full.cpu,
          unit: 'images/s/core',
          baseline: decodePerCore,
          note: note(full, `baseline = decode+preprocess only from memory (${(n / decode.wall).toFixed(0)} images/s total)`),
        });
        results.push({ name: `fetch only (safe fetch + header checks) ${mix} per core`, value: n / fetchOnly.cpu, unit: 'images/s/core', note: note(fetchOnly, 'no decode') });
        results.push({ name: `decode+preprocess only ${mix} per core`, value: decodePerCore, unit: 'images/s/core', note: note(decode, 'no network') });
        ctx.log(`${mix}: done`);
      }
    } finally {
      server.stop();
    }
    return results;
  },
};
export default bench;
