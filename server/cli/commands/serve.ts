import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configFromEnv } from '../../config.ts';
import { startCoordinator } from '../../coordinator.ts';
import { enqueueJobs } from '../../db/queries/enqueueJobs.ts';
import { createLogger, type LogLevel } from '../../log.ts';
import type { Command } from '../command.ts';

const CLIENT_DIST = fileURLToPath(new URL('../../../client/dist', import.meta.url));

export const command: Command = {
  summary: 'run the coordinator (HTTP API, volunteer page, job scheduler)',
  usage: `Usage: crawlswarm serve [options]

Runs the coordinator. Without DATABASE_URL it keeps an embedded PGlite database under <data-dir>/pglite.

Options:
  --port N          port to listen on (env PORT, default 8080)
  --host ADDR       address to bind (env HOST, default 0.0.0.0)
  --data-dir DIR    where the embedded database lives (env DATA_DIR, default ./data)
  --noop-jobs N     enqueue N 'noop' jobs at start (to try the queue with 'crawlswarm agent --dry-run')
  --log-level L     debug | info | warn | error (env LOG_LEVEL, default info)
Environment: DATABASE_URL, LEASE_SECONDS, HEARTBEAT_SECONDS, TRANSITIONER_INTERVAL_SECONDS, MAX_FAILURES (README).`,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' },
        'noop-jobs': { type: 'string' }, 'log-level': { type: 'string' },
      },
    });
    const env = { ...process.env };
    if (values.port) env.PORT = values.port;
    if (values.host) env.HOST = values.host;
    if (values['data-dir']) env.DATA_DIR = values['data-dir'];
    const log = createLogger((values['log-level'] ?? process.env.LOG_LEVEL ?? 'info') as LogLevel);
    const config = configFromEnv(env, { clientDir: CLIENT_DIST });
    const coordinator = await startCoordinator(config, { log });
    const noop = Number(values['noop-jobs'] ?? 0);
    if (noop > 0) {
      await enqueueJobs(coordinator.deps.db, Array.from({ length: noop }, (_, seq) => ({ kind: 'noop', payload: { seq }, maxFailures: config.maxFailures })));
      log.info('enqueued noop jobs', { count: noop });
    }
    process.stdout.write(`crawlswarm coordinator on ${coordinator.url} (database: ${coordinator.deps.db.kind})\n`);
    let closing = false;
    const shutdown = async (signal: string) => {
      if (closing) process.exit(1); // a second Ctrl-C forces it
      closing = true;
      log.info('shutting down', { signal });
      await coordinator.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    return undefined;
  },
};
