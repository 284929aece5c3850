import { parseArgs } from 'node:util';
import { WorkClient } from '../../../shared/client/workClient.ts';
import { obtainToken } from '../../agent/credentials.ts';
import { AgentTotals, createDisplay, type DisplayMode } from '../../agent/display.ts';
import type { JobExecutor } from '../../../shared/client/executor.ts';
import { agentTokenizer, createUrlExecutor, createWatExecutor, noopExecutor } from '../../agent/executors.ts';
import { loadCoordinatorModel, type LoadedModel, type ModelLoad } from '../../agent/modelClient.ts';
import type { Device } from '../../../shared/clip/manifest.ts';
import { cudaProviderInstalled, ortNodeDevices } from '../../clip/ortNode.ts';
import { createFetcher } from '../../fetch/fetcher.ts';
import { createGuardedFetch } from '../../fetch/guardedFetch.ts';
import { TokenBucket } from '../../fetch/limits.ts';
import { parseByteRate } from '../../fetch/rate.ts';
import type { Command } from '../command.ts';

/** What this machine can score on, as the coordinator's worker list shows it (CUDA only with its provider). */
function usableDevices(): Device[] {
  return ortNodeDevices().filter((d) => d !== 'cuda' || cudaProviderInstalled());
}

export const command: Command = {
  summary: 'lend this machine: connect to a coordinator and run jobs',
  usage: `Usage: crawlswarm agent --server URL (--nickname NAME [--team TEAM] | --token TOKEN) [options]

Connects to a coordinator, takes the jobs this machine can run, uploads results, reconnects with backoff
when the coordinator goes away. Ctrl-C finishes the running jobs (a second Ctrl-C hands them back), then
says bye and prints a summary.

Options:
  --server URL        coordinator address (env CRAWLSWARM_SERVER)
  --nickname NAME     register (first time) or reuse the saved token for NAME
  --team TEAM         team to register under
  --token TOKEN       API token (env CRAWLSWARM_TOKEN)
  --concurrency N     jobs at once (default 2)
  --fetches N         image downloads in flight at once, all jobs together (default 64; 2 per host)
  --bandwidth RATE    download cap in bytes per second, e.g. 500k, 2MB/s, 1.5MiB/s; default none
  --jobs KINDS        comma-separated job kinds to take: wat, url (default: both)
  --allow-private     fetch from private/loopback addresses (tests and the offline demo only)
  --dry-run           run only 'noop' jobs: exercises the protocol without fetching anything
  --json              one JSON line per event on stdout
  --quiet             only errors and the final summary`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        server: { type: 'string' }, nickname: { type: 'string' }, team: { type: 'string' }, token: { type: 'string' },
        concurrency: { type: 'string' }, jobs: { type: 'string' }, 'dry-run': { type: 'boolean' },
        fetches: { type: 'string' }, bandwidth: { type: 'string' }, 'allow-private': { type: 'boolean' },
        json: { type: 'boolean' }, quiet: { type: 'boolean' },
      },
    });
    const server = values.server ?? process.env.CRAWLSWARM_SERVER;
    if (!server) {
      process.stderr.write('crawlswarm agent: --server URL is required\n');
      return 2;
    }
    const concurrency = Number(values.concurrency ?? 2);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      process.stderr.write('crawlswarm agent: --concurrency must be an integer from 1 to 64\n');
      return 2;
    }
    const fetches = Number(values.fetches ?? 64);
    if (!Number.isInteger(fetches) || fetches < 1 || fetches > 1024) {
      process.stderr.write('crawlswarm agent: --fetches must be an integer from 1 to 1024\n');
      return 2;
    }
    let token: string;
    try {
      token = await obtainToken(server, { token: values.token ?? process.env.CRAWLSWARM_TOKEN, nickname: values.nickname, team: values.team });
    } catch (err) {
      process.stderr.write(`crawlswarm agent: ${(err as Error).message}\n`);
      return 2;
    }
    const rate = values.bandwidth ? parseByteRate(values.bandwidth) : null;
    if (rate && !rate.ok) {
      process.stderr.write(`crawlswarm agent: --bandwidth: ${rate.detail}\n`);
      return 2;
    }
    const bandwidth = rate?.ok ? rate.bytesPerSecond : null;
    // one cap for all downloads, images and WAT files together
    const bucket = bandwidth ? new TokenBucket(bandwidth) : null;
    const allowPrivate = values['allow-private'] ?? false;
    const fetcher = createFetcher({ concurrency: fetches, bandwidthBytesPerSecond: bandwidth, allowPrivate }, { bucket });
    let model: Promise<ModelLoad> | null = null;
    let lastGood: LoadedModel | null = null;
    const executors: Record<string, JobExecutor> = values['dry-run']
      ? { noop: noopExecutor }
      : {
          wat: createWatExecutor({ fetchFn: createGuardedFetch({ allowPrivate, bucket }) }),
          url: createUrlExecutor({
            fetcher,
            tokenizer: agentTokenizer(),
            model: (refresh) => {
              if (!model || refresh) {
                // a look again keeps the loaded session when the coordinator still serves the same model,
                // also after a failed look in between (a coordinator restart)
                model = loadCoordinatorModel(server, lastGood ? { keep: lastGood } : {}).then((r) => {
                  if (r.ok) lastGood = r.model;
                  return r;
                });
              }
              return model;
            },
          }),
        };
    const wanted = values.jobs ? values.jobs.split(',').map((s) => s.trim()) : Object.keys(executors);
    const unknown = wanted.filter((k) => !(k in executors));
    if (unknown.length) {
      process.stderr.write(`crawlswarm agent: cannot run job kinds ${unknown.join(', ')}; this agent runs ${Object.keys(executors).join(', ')}\n`);
      return 2;
    }
    const mode: DisplayMode = values.json ? 'json' : values.quiet ? 'quiet' : process.stderr.isTTY ? 'tty' : 'plain';
    const totals = new AgentTotals();
    const display = createDisplay(mode, totals);
    const client = new WorkClient({
      url: server, token, kind: 'node',
      capabilities: { jobKinds: wanted, backends: usableDevices(), features: ['fetch:cross-origin'], maxJobs: concurrency },
      executors,
      userAgent: `crawlswarm-agent node/${process.versions.node} ${process.platform}-${process.arch}`,
      onEvent: (e) => {
        display.onEvent(e);
        // a refused client (bad token, too old) will never work: exit with the reason shown
        if (e.type === 'state' && e.state === 'refused') {
          refused = true;
          onRefused?.();
        }
      },
    });
    let onRefused: (() => void) | undefined;
    let refused = false;
    client.start();
    return new Promise<number>((resolve) => {
      let stopping = 0;
      const finish = async (drain: boolean) => {
        await client.stop({ drain, drainMs: 60_000 });
        await fetcher.close();
        display.close();
        const summary = { ...totals.summary(), state: 'stopped' };
        if (mode === 'json') process.stdout.write(JSON.stringify({ event: 'summary', ...summary }) + '\n');
        else process.stderr.write(`summary: ${JSON.stringify(summary)}\n`);
        resolve(refused ? 1 : 0);
      };
      const onSignal = () => {
        stopping++;
        if (stopping === 1) {
          if (mode !== 'json') process.stderr.write('\nfinishing running jobs (Ctrl-C again to hand them back now)\n');
          void finish(true);
        } else if (stopping === 2) {
          void client.stop({ drain: false });
        } else process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      onRefused = () => void finish(false);
      if (refused) onRefused();
    });
  },
};

