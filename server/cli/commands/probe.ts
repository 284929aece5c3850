import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import { createFetcher } from '../../fetch/fetcher.ts';
import { fetchAndPrepare } from '../../image/pipeline.ts';

const usage = `Usage: crawlswarm probe [--allow-private] [--timeout SECONDS] URL

Runs one image URL through exactly the fetch and checks of a URL job (safe DNS, redirects, X-Robots-Tag,
size and pixel limits, decode and CLIP preprocessing) and prints one JSON line:
  {"url","status","httpStatus","bytes","format","width","height","sha256","seconds", "detail"?, ...}
status is one of the URL status vocabulary (ok, timeout, http-error, blocked-address, opt-out, too-small,
too-large, not-image, bomb, decode-error, redirect-loop, too-many-redirects, dns-error, connect-error, ...).

Options:
  --allow-private   allow loopback/private/link-local addresses (testing a local server only)
  --timeout S       total seconds per attempt (default 20)
Exit status: 0 when status is ok, 1 otherwise, 2 on bad usage.`;

export const command: Command = {
  summary: 'fetch one image URL through the URL-job checks and print why it is kept or skipped',
  usage,
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: { 'allow-private': { type: 'boolean', default: false }, timeout: { type: 'string' } },
      });
    } catch (err) {
      process.stderr.write(`probe: ${(err as Error).message}\n${usage}\n`);
      return 2;
    }
    const [url, ...extra] = parsed.positionals;
    const timeoutSeconds = parsed.values.timeout === undefined ? 20 : Number(parsed.values.timeout);
    if (!url || extra.length || !(timeoutSeconds > 0)) {
      process.stderr.write(usage + '\n');
      return 2;
    }
    // One URL: no retry pause worth waiting for beyond a short one, same limits otherwise.
    const fetcher = createFetcher({ allowPrivate: parsed.values['allow-private'], totalTimeoutMs: timeoutSeconds * 1000, retryDelayMs: 500 });
    try {
      const { result } = await fetchAndPrepare(fetcher, url);
      const { url: u, status, httpStatus, bytes, format, width, height, sha256, seconds, ...rest } = result;
      const line = { url: u, status, httpStatus, bytes, format, width, height, sha256, seconds: Math.round(seconds * 1000) / 1000, ...rest };
      process.stdout.write(JSON.stringify(line) + '\n');
      return status === 'ok' ? 0 : 1;
    } finally {
      await fetcher.close();
    }
  },
};
