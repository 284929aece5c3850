import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The admin token from `<dataDir>/admin-token`, created (mode 0600) on first start. */
export async function ensureAdminToken(dataDir: string): Promise<string> {
  const path = join(dataDir, 'admin-token');
  const existing = await readFile(path, 'utf8').catch(() => '');
  if (existing.trim()) return existing.trim();
  const token = randomBytes(24).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(path, token + '\n', { mode: 0o600 });
  return token;
}
