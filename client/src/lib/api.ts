// The page's two HTTP calls: register (POST /api/volunteers) and the public stats (GET /api/stats).
import { ApiError, RegisterRequest, RegisterResponse, StatsResponse } from '../../../shared/protocol/http.ts';

export type RegisterResult = { ok: true; volunteer: RegisterResponse } | { ok: false; reason: string; message: string };

export async function registerVolunteer(nickname: string, team: string | null, fetchFn: typeof fetch = fetch): Promise<RegisterResult> {
  const request = RegisterRequest.safeParse({ nickname, team: team || null });
  if (!request.success) return { ok: false, reason: 'bad_request', message: request.error.issues.map((i) => i.message).join('; ') };
  let res: Response;
  try {
    res = await fetchFn('/api/volunteers', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.data) });
  } catch {
    return { ok: false, reason: 'unreachable', message: 'The coordinator cannot be reached. Check your connection and try again.' };
  }
  const body: unknown = await res.json().catch(() => null);
  if (res.status === 201) {
    const parsed = RegisterResponse.safeParse(body);
    if (parsed.success) return { ok: true, volunteer: parsed.data };
    return { ok: false, reason: 'bad_response', message: 'The coordinator answered something unexpected.' };
  }
  const err = ApiError.safeParse(body);
  if (err.success && err.data.error === 'nickname_taken') return { ok: false, reason: 'nickname_taken', message: `“${nickname}” is taken. Please choose another nickname.` };
  return { ok: false, reason: err.success ? err.data.error : `http_${res.status}`, message: err.success ? err.data.detail : `The coordinator answered HTTP ${res.status}.` };
}

export async function fetchStats(fetchFn: typeof fetch = fetch): Promise<StatsResponse | null> {
  try {
    const res = await fetchFn('/api/stats', { cache: 'no-store' });
    if (!res.ok) return null;
    const parsed = StatsResponse.safeParse(await res.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
