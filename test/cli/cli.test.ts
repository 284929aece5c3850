// The one command-line entry: help for every command, exit codes, and serve's settings (defaults, the
// environment, flags over the environment).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../../server/cli/commands.ts';
import { configFromEnv } from '../../server/config.ts';
import { CLI, runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/net.ts';

const run = runCli;

describe('crawlswarm CLI', () => {
  it('--help lists every command; each command has its own --help', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    for (const name of ['serve', 'agent', 'extract', 'tokenize', 'probe', 'ingest', 'model']) {
      expect(Object.keys(commands)).toContain(name);
      expect(top.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    }
    const helps = await Promise.all(Object.keys(commands).map((name) => run([name, '--help'])));
    Object.keys(commands).forEach((name, i) => {
      expect(helps[i]!.code, name).toBe(0);
      expect(helps[i]!.stdout, name).toMatch(new RegExp(`^Usage:\\s+crawlswarm ${name}\\b`));
    });
  }, 60_000);

  it('an unknown command or no command exits 2 and says what to do', async () => {
    const unknown = await run(['sreve']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'sreve'.*--help/);
    expect((await run([])).code).toBe(2);
  });

  it('serve settings: defaults, then the environment', () => {
    const d = configFromEnv({});
    expect(d).toMatchObject({ port: 8080, host: '0.0.0.0', dataDir: './data', databaseUrl: null, leaseMs: 60_000, heartbeatMs: 15_000 });
    const e = configFromEnv({ PORT: '9001', DATA_DIR: '/srv/cs', DATABASE_URL: 'postgres://db/cs', LEASE_SECONDS: '120' });
    expect(e).toMatchObject({ port: 9001, dataDir: '/srv/cs', databaseUrl: 'postgres://db/cs', leaseMs: 120_000 });
    expect(() => configFromEnv({ PORT: 'eighty' })).toThrow(/PORT must be a non-negative number/);
  });

  it('serve --port and --data-dir beat PORT and DATA_DIR, so that instances run side by side', async () => {
    const [flagPort, envPort] = [await freePort(), await freePort()];
    const dir = await mkdtemp(join(tmpdir(), 'crawlswarm-serve-'));
    const child = spawn(process.execPath, [CLI, 'serve', '--port', String(flagPort), '--host', '127.0.0.1', '--data-dir', join(dir, 'flag')], {
      env: { ...process.env, PORT: String(envPort), DATA_DIR: join(dir, 'env'), DATABASE_URL: '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(out);
        });
        child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      expect(line).toContain(`http://127.0.0.1:${flagPort}`);
      expect(line).toContain('database: pglite');
      const health = await (await fetch(`http://127.0.0.1:${flagPort}/healthz`)).json();
      expect(health).toMatchObject({ ok: true, database: 'pglite' });
      const { existsSync } = await import('node:fs');
      expect(existsSync(join(dir, 'flag', 'pglite'))).toBe(true);
      expect(existsSync(join(dir, 'env'))).toBe(false);
      const exit = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
