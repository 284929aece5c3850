// WAT extraction throughput on one core, next to raw gunzip of the same file (the ceiling).
//
// Input: a Common Crawl-style WAT (one gzip member per record) assembled from the real CC-MAIN-2014-35
// records in test/fixtures/wat: the warcinfo record once, then the 8 metadata records repeated with a
// fresh WARC-Record-ID each and a WARC-Target-URI on a distinct host (so relative image urls resolve to
// new candidates instead of being deduplicated away). Cached under .bench-cache/.
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, renameSync, statSync, writeFileSync, createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createGunzip, gzipSync } from 'node:zlib';
import { extractWat } from '../../shared/wat/extract.ts';
import { createWebMemberInflater } from '../../shared/wat/gzip.ts';
import { createJsMemberInflater } from '../../shared/wat/inflate.ts';
import { createEldDetector } from '../../shared/wat/language.ts';
import { readWarcRecords } from '../../shared/wat/warc.ts';
import { openWatSource } from '../../server/wat/source.ts';
import { createZlibMemberInflater } from '../../server/wat/zlib-inflater.ts';
import type { Bench, BenchResult } from './bench.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const FIXTURE = ROOT + 'test/fixtures/wat/cc-main-2014-35/CC-MAIN-20140820021334-00006-ip-10-180-136-8.ec2.internal.warc.wat';
const MB = 1e6;

async function fixtureRecords(): Promise<{ headers: Record<string, string>; body: Uint8Array }[]> {
  const out: { headers: Record<string, string>; body: Uint8Array }[] = [];
  async function* one() {
    yield new Uint8Array(readFileSync(FIXTURE));
  }
  for await (const ev of readWarcRecords(
    (async function* () {
      for await (const b of one()) yield { kind: 'data' as const, bytes: b };
    })(),
    { maxRecordBytes: 1 << 26, maxHeaderBytes: 1 << 20, startOffset: 0, endOffset: Infinity },
  )) {
    if (ev.kind === 'record') out.push({ headers: { ...ev.record.headers }, body: ev.record.body.slice() });
  }
  return out;
}

function serialise(headers: Record<string, string>, body: Uint8Array): Uint8Array {
  let head = 'WARC/1.0\r\n';
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const h = new TextEncoder().encode(head + '\r\n');
  const out = new Uint8Array(h.byteLength + body.byteLength + 4);
  out.set(h);
  out.set(body, h.byteLength);
  out.set([13, 10, 13, 10], h.byteLength + body.byteLength);
  return out;
}

/** Builds (or reuses) a WAT of at least `targetBytes` uncompressed; returns its path and sizes. */
async function assemble(targetBytes: number, log: (m: string) => void) {
  const dir = ROOT + '.bench-cache';
  mkdirSync(dir, { recursive: true });
  const path = `${dir}/wat-${Math.round(targetBytes / MB)}mb.warc.wat.gz`;
  const meta = path + '.json';
  if (existsSync(path) && existsSync(meta)) return { path, ...(JSON.parse(readFileSync(meta, 'utf8')) as { inflatedBytes: number; records: number }) };
  log(`assembling ${path} ...`);
  const recs = await fixtureRecords();
  const [info, ...metadata] = recs;
  const tmp = path + '.tmp';
  const out = createWriteStream(tmp);
  let inflatedBytes = 0;
  let records = 0;
  const write = async (r: Uint8Array) => {
    inflatedBytes += r.byteLength;
    records++;
    if (!out.write(gzipSync(r))) await once(out, 'drain');
  };
  await write(serialise(info!.headers, info!.body));
  for (let rep = 0; inflatedBytes < targetBytes; rep++) {
    for (const [i, r] of metadata.entries()) {
      const headers = { ...r.headers };
      headers['WARC-Record-ID'] = `<urn:uuid:${rep.toString(16).padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}>`;
      const uri = headers['WARC-Target-URI'];
      if (uri && /^https?:\/\//.test(uri)) headers['WARC-Target-URI'] = uri.replace(/^(https?:\/\/)/, `$1h${rep}.`);
      await write(serialise(headers, r.body));
    }
  }
  out.end();
  await once(out, 'close');
  renameSync(tmp, path);
  writeFileSync(meta, JSON.stringify({ inflatedBytes, records }));
  return { path, inflatedBytes, records };
}

/** Wall and CPU seconds of `fn`. CPU time (user + system, all threads) is what "one core" means here,
 * and it is far less disturbed than wall time when other processes share the machine. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { value, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

/** The ceiling: stream gunzip of the file with Node's zlib, counting bytes (what `zcat | wc -c` does). */
async function rawGunzip(path: string): Promise<number> {
  let bytes = 0;
  const gunzip = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 1 << 16 }));
  for await (const c of gunzip) bytes += (c as Buffer).byteLength;
  return bytes;
}

const bench: Bench = {
  name: 'wat',
  async run({ quick, log }) {
    const target = quick ? 20 * MB : 210 * MB;
    const file = await assemble(target, log);
    const compressed = statSync(file.path).size;
    log(`${file.path}: ${(compressed / MB).toFixed(1)} MB compressed, ${(file.inflatedBytes / MB).toFixed(1)} MB uncompressed, ${file.records} records (gzip members)`);
    const detect = await createEldDetector('small');
    const results: BenchResult[] = [];
    const sizeNote = `${(file.inflatedBytes / MB).toFixed(0)} MB WAT, ${(compressed / MB).toFixed(0)} MB gzip, ${file.records} records, 1 core`;

    // Best of `runs` per variant (quick: 2, full: 3), CPU seconds; the first extract run also warms the JIT.
    const runs = quick ? 2 : 3;
    let raw = { wall: Infinity, cpu: Infinity };
    for (let i = 0; i < runs; i++) {
      const r = await timed(() => rawGunzip(file.path));
      if (r.value !== file.inflatedBytes) throw new Error(`gunzip gave ${r.value} bytes, expected ${file.inflatedBytes}`);
      if (r.cpu < raw.cpu) raw = r;
    }
    let zcatSeconds: number | null = null;
    try {
      const t = performance.now();
      execFileSync('bash', ['-c', `zcat '${file.path}' | wc -l`], { stdio: ['ignore', 'pipe', 'ignore'] });
      zcatSeconds = (performance.now() - t) / 1000;
    } catch {
      zcatSeconds = null;
    }
    const baselineUncompressed = file.inflatedBytes / MB / raw.cpu;
    const baselineCompressed = compressed / MB / raw.cpu;

    const variants = [
      { name: 'extract (zlib, ELD small)', inflater: createZlibMemberInflater, detect },
      { name: 'extract (zlib, no language)', inflater: createZlibMemberInflater, detect: null },
      { name: 'extract (JS inflate, ELD small)', inflater: createJsMemberInflater, detect },
      { name: 'extract (DecompressionStream, ELD small)', inflater: createWebMemberInflater, detect },
    ];
    // Warm-up (discarded): JIT for the reader, the rules and ELD, so the first variant is not penalised.
    {
      const src = await openWatSource(file.path, { range: { start: 0, end: Math.min(compressed, 4 * MB) } });
      if (!src.ok) throw new Error(src.detail);
      await extractWat(src.chunks, { inflater: createZlibMemberInflater(), detectLanguage: detect, startOffset: src.startOffset, endOffset: src.endOffset });
    }
    let peakRss = process.memoryUsage().rss;
    const rssBefore = peakRss;
    for (const v of variants) {
      let best = { wall: Infinity, cpu: Infinity };
      let candidates = 0;
      let records = 0;
      for (let i = 0; i < runs; i++) {
        const src = await openWatSource(file.path);
        if (!src.ok) throw new Error(src.detail);
        // Sample the resident set while it runs: constant memory means it stays flat whatever the size.
        const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
        const r = await timed(() => extractWat(src.chunks, { inflater: v.inflater(), detectLanguage: v.detect }));
        clearInterval(sampler);
        const s = r.value;
        if (s.errors || s.records !== file.records) throw new Error(`${v.name}: ${JSON.stringify(s)}`);
        if (r.cpu < best.cpu) best = r;
        candidates = s.candidates;
        records = s.records;
      }
      log(`${v.name}: ${best.cpu.toFixed(2)} CPU s, ${best.wall.toFixed(2)} wall s, ${candidates} candidates`);
      const wallNote = `wall ${(file.inflatedBytes / MB / best.wall).toFixed(1)} MB/s`;
      results.push(
        { name: `wat ${v.name} uncompressed MB/s`, value: file.inflatedBytes / MB / best.cpu, unit: 'MB/s', baseline: baselineUncompressed, note: `per CPU second; ${wallNote}; baseline zlib gunzip stream; ${sizeNote}` },
        { name: `wat ${v.name} compressed MB/s`, value: compressed / MB / best.cpu, unit: 'MB/s', baseline: baselineCompressed },
        { name: `wat ${v.name} records/s`, value: records / best.cpu, unit: 'records/s', baseline: file.records / raw.cpu, note: `${candidates} candidates` },
      );
    }
    results.push({ name: 'wat peak RSS while extracting', value: peakRss / MB, unit: 'MB', note: `RSS before: ${(rssBefore / MB).toFixed(0)} MB; input ${(file.inflatedBytes / MB).toFixed(0)} MB` });
    if (zcatSeconds !== null) {
      results.push({ name: 'wat zcat FILE | wc -l (2 processes, wall)', value: file.inflatedBytes / MB / zcatSeconds, unit: 'MB/s', note: 'reference from the shell' });
    }
    return results;
  },
};

export default bench;
