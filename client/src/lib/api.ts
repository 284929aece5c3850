// The page's HTTP calls: register (POST /api/volunteers), the public stats (GET /api/stats), the volunteer's
// credit (GET /api/me) and the leaderboard (GET /api/leaderboard). Answers are
// checked by hand against the protocol's types (zod stays in the worker; in the page it would triple the size).
import type { CreditResponse, LeaderboardResponse, RegisterResponse, StatsResponse } from '../../../shared/protocol/http.ts';

/** Same rule as the protocol's NICKNAME_PATTERN (a test keeps them equal). */
export const NICKNAME_RULE = /^[-_a-zA-Z0-9]{3,30}$/;

export type RegisterResult = { ok: true; volunteer: RegisterResponse } | { ok: false; reason: string; message: string };

function isRegisterResponse(v: unknown): v is RegisterResponse {
  const o = v as Record<string, unknown> | null;
  return !!o && Number.isInteger(o.id) && typeof o.nickname === 'string' && (o.team === null || typeof o.team === 'string') && typeof o.token === 'string';
}

function isStats(v: unknown): v is StatsResponse {
  const o = v as Record<string, unknown> | null;
  const online = o?.workersOnline as Record<string, unknown> | undefined;
  return !!o && typeof o.jobs === 'object' && o.jobs !== null && typeof online?.browser === 'number' && typeof online?.node === 'number';
}

/** Plain-words problem with a nickname or team, or null when both are acceptable. */
export function checkNames(nickname: string, team: string | null): string | null {
  if (!NICKNAME_RULE.test(nickname)) return 'Nickname: 3 to 30 letters, digits, - or _.';
  if (team && !NICKNAME_RULE.test(team)) return 'Team: 3 to 30 letters, digits, - or _ (or leave it empty).';
  return null;
}

export async function registerVolunteer(nickname: string, team: string | null, fetchFn: typeof fetch = fetch): Promise<RegisterResult> {
  const problem = checkNames(nickname, team);
  if (problem) return { ok: false, reason: 'bad_request', message: problem };
  let res: Response;
  try {
    res = await fetchFn('/api/volunteers', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nickname, team: team || null }) });
  } catch {
    return { ok: false, reason: 'unreachable', message: 'The coordinator cannot be reached. Check your connection and try again.' };
  }
  const body: unknown = await res.json().catch(() => null);
  if (res.status === 201) {
    if (isRegisterResponse(body)) return { ok: true, volunteer: body };
    return { ok: false, reason: 'bad_response', message: 'The coordinator answered something unexpected.' };
  }
  const err = body as { error?: unknown; detail?: unknown } | null;
  if (err?.error === 'nickname_taken') return { ok: false, reason: 'nickname_taken', message: `“${nickname}” is taken. Please choose another nickname.` };
  return {
    ok: false,
    reason: typeof err?.error === 'string' ? err.error : `http_${res.status}`,
    message: typeof err?.detail === 'string' ? err.detail : `The coordinator answered HTTP ${res.status}.`,
  };
}

/** GET a JSON answer the page only shows: anything unexpected (network, HTTP error, shape) is simply null. */
async function getChecked<T>(path: string, check: (v: unknown) => v is T, fetchFn: typeof fetch, headers: Record<string, string> = {}): Promise<T | null> {
  try {
    const res = await fetchFn(path, { cache: 'no-store', headers });
    if (!res.ok) return null;
    const body: unknown = await res.json();
    return check(body) ? body : null;
  } catch {
    return null;
  }
}

export function fetchStats(fetchFn: typeof fetch = fetch): Promise<StatsResponse | null> {
  return getChecked('/api/stats', isStats, fetchFn);
}

const isCount = (v: unknown) => {
  const o = v as Record<string, unknown> | null;
  return !!o && Number.isInteger(o.jobs) && Number.isInteger(o.images);
};

function isCredit(v: unknown): v is CreditResponse {
  const o = v as Record<string, unknown> | null;
  return !!o && typeof o.nickname === 'string' && isCount(o.pending) && isCount(o.verified) && isCount(o.rejected);
}

function isLeaderboard(v: unknown): v is LeaderboardResponse {
  const o = v as Record<string, unknown> | null;
  const rows = (x: unknown) => Array.isArray(x) && x.every((r) => isCount(r) && typeof (r as { name?: unknown }).name === 'string');
  return !!o && rows(o.volunteers) && rows(o.teams);
}

export function fetchCredit(token: string, fetchFn: typeof fetch = fetch): Promise<CreditResponse | null> {
  return getChecked('/api/me', isCredit, fetchFn, { authorization: `Bearer ${token}` });
}

export function fetchLeaderboard(fetchFn: typeof fetch = fetch): Promise<LeaderboardResponse | null> {
  return getChecked('/api/leaderboard', isLeaderboard, fetchFn);
}
