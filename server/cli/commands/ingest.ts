import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { Command } from '../command.ts';

export const COMMON_CRAWL_BASE = 'https://data.commoncrawl.org/';

/** The WAT listing of a crawl, as Common Crawl publishes it. */
export function crawlPathsUrl(crawl: string, base = COMMON_CRAWL_BASE): string {
  return new URL(`crawl-data/${crawl}/wat.paths.gz`, base).toString();
}

/** Lines of a (gzipped or plain) paths listing to absolute URLs; blank lines and comments are skipped. */
export function watUrlsFromListing(bytes: Uint8Array, base: string): string[] {
  const text = new TextDecoder().decode(bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes);
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => (/^https?:\/\//i.test(l) ? l : new URL(l.replace(/^\/+/, ''), base).toString()));
}

async function readListing(location: string): Promise<Uint8Array> {
  if (/^https?:\/\//i.test(location)) {
    const res = await fetch(location);
    if (!res.ok) throw new Error(`GET ${location}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  return new Uint8Array(await readFile(location));
}

export const command: Command = {
  summary: "turn a crawl's WAT listing into WAT jobs on a running coordinator",
  usage: `Usage: crawlswarm ingest (--crawl CC-MAIN-YYYY-WW | --paths FILE_OR_URL) [options]

Reads a WAT listing (wat.paths.gz, gzipped or plain, one path or URL a line) and asks the coordinator to
create one WAT job per file slice. Candidates found by WAT jobs are deduplicated across the crawl and packed
into URL jobs by the coordinator.

Options:
  --crawl ID          a Common Crawl crawl id; reads <base>crawl-data/ID/wat.paths.gz
  --paths LOCATION    a listing file or URL instead
  --base URL          prefix for relative paths (default ${COMMON_CRAWL_BASE})
  --slices N          jobs per WAT file (default 2, as Crawling@Home)
  --cors              the WAT host allows cross-origin reads: browsers may take these jobs too
  --replicas N        independent results wanted per job (default 1)
  --limit N           only the first N files
  --server URL        coordinator (default http://127.0.0.1:8080, env CRAWLSWARM_SERVER)
  --admin-token T     admin token (env ADMIN_TOKEN; default: read <data-dir>/admin-token)
  --data-dir DIR      the coordinator's data directory, for its admin token (default ./data)
Prints one JSON line: {"files":...,"jobs":...}.`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        crawl: { type: 'string' }, paths: { type: 'string' }, base: { type: 'string' }, slices: { type: 'string' },
        cors: { type: 'boolean' }, replicas: { type: 'string' }, limit: { type: 'string' }, server: { type: 'string' },
        'admin-token': { type: 'string' }, 'data-dir': { type: 'string' },
      },
    });
    const fail = (m: string) => {
      process.stderr.write(`crawlswarm ingest: ${m}\n`);
      return 2;
    };
    if (!values.crawl === !values.paths) return fail('give exactly one of --crawl or --paths');
    if (values.crawl && !/^CC-MAIN-\d{4}-\d{2}$/.test(values.crawl)) return fail(`--crawl ${values.crawl}: expected CC-MAIN-YYYY-WW`);
    const base = values.base ?? COMMON_CRAWL_BASE;
    const server = values.server ?? process.env.CRAWLSWARM_SERVER ?? 'http://127.0.0.1:8080';
    const token = values['admin-token'] ?? process.env.ADMIN_TOKEN
      ?? (await readFile(join(values['data-dir'] ?? process.env.DATA_DIR ?? './data', 'admin-token'), 'utf8').catch(() => '')).trim();
    if (!token) return fail('no admin token: pass --admin-token, set ADMIN_TOKEN, or --data-dir of the coordinator');
    const location = values.paths ?? crawlPathsUrl(values.crawl!, base);
    let urls: string[];
    try {
      urls = watUrlsFromListing(await readListing(location), base);
    } catch (err) {
      return fail(`cannot read the listing ${location}: ${(err as Error).message}`);
    }
    if (values.limit) urls = urls.slice(0, Number(values.limit));
    if (urls.length === 0) return fail(`the listing ${location} has no paths`);
    let jobs = 0;
    for (let i = 0; i < urls.length; i += 5000) {
      const res = await fetch(new URL('/api/admin/wat-jobs', server), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          crawl: values.crawl ?? null, urls: urls.slice(i, i + 5000), slices: Number(values.slices ?? 2),
          corsOk: values.cors ?? false, replicas: Number(values.replicas ?? 1),
        }),
      }).catch((err: Error) => err);
      if (res instanceof Error) return fail(`cannot reach ${server}: ${res.message}`);
      const body = (await res.json().catch(() => ({}))) as { jobs?: number; detail?: string };
      if (res.status !== 201) return fail(`the coordinator refused: HTTP ${res.status} ${body.detail ?? ''}`);
      jobs += body.jobs ?? 0;
    }
    process.stdout.write(JSON.stringify({ files: urls.length, jobs, crawl: values.crawl ?? null, source: location }) + '\n');
    return 0;
  },
};
