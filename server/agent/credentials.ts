import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RegisterResponse } from '../../shared/protocol/http.ts';

/** Where the agent keeps its token per coordinator, so a restart does not register a new volunteer. */
export function credentialsPath(server: string, env = process.env): string {
  const base = env.CRAWLSWARM_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'crawlswarm');
  return join(base, `${new URL(server).host.replace(/[^a-zA-Z0-9.-]/g, '_')}.json`);
}

/**
 * Returns a token for this coordinator: the one given, the saved one for this nickname, or a new
 * registration (saved with mode 0600).
 */
export async function obtainToken(server: string, opts: { token?: string; nickname?: string; team?: string }): Promise<string> {
  if (opts.token) return opts.token;
  if (!opts.nickname) throw new Error('give --token, or --nickname to register (and optionally --team)');
  const path = credentialsPath(server);
  try {
    const saved = RegisterResponse.parse(JSON.parse(await readFile(path, 'utf8')));
    if (saved.nickname.toLowerCase() === opts.nickname.toLowerCase()) return saved.token;
  } catch {
    // nothing saved yet, or unreadable: register
  }
  const res = await fetch(new URL('/api/volunteers', server), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nickname: opts.nickname, team: opts.team }),
  });
  const body = await res.json().catch(() => ({}));
  if (res.status !== 201) throw new Error(`registering '${opts.nickname}' failed: ${(body as { detail?: string }).detail ?? `HTTP ${res.status}`}`);
  const reg = RegisterResponse.parse(body);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, JSON.stringify(reg, null, 2), { mode: 0o600 });
  return reg.token;
}
