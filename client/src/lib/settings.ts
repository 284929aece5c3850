// What the page keeps in localStorage: who the volunteer is (nickname, team, token from POST /api/volunteers)
// and how much of the machine they give. Storage is passed in (the page gives window.localStorage, tests a
// Map-backed one); anything unreadable falls back to defaults rather than breaking the page.
import type { BackendChoice, WorkerSettings } from '../../worker/api.ts';

export const IDENTITY_KEY = 'crawlswarm.identity';
export const SETTINGS_KEY = 'crawlswarm.settings';

export type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export interface Identity {
  id: number;
  nickname: string;
  team: string | null;
  token: string;
}

/** Checked by hand rather than with zod: zod would triple the page's script size. */
function isIdentity(v: unknown): v is Identity {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return Number.isInteger(o.id) && typeof o.nickname === 'string' && (o.team === null || typeof o.team === 'string') && typeof o.token === 'string' && o.token.length > 0;
}

export interface PageSettings extends WorkerSettings {
  /** Pause all work while the tab is hidden (another tab in front, phone screen off). */
  pauseWhenHidden: boolean;
}

export const SETTINGS_LIMITS = {
  maxJobs: { min: 1, max: 4 },
  parallelDownloads: { min: 1, max: 16 },
  bandwidthKiBps: { min: 0, max: 100_000 },
  wasmThreads: { min: 0, max: 16 },
} as const;

export const DEFAULT_SETTINGS: PageSettings = {
  maxJobs: 1,
  parallelDownloads: 4,
  bandwidthKiBps: 0,
  backend: 'auto',
  wasmThreads: 0,
  pauseWhenHidden: false,
};

const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm'];

function clampInt(value: unknown, lim: { min: number; max: number }, fallback: number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return fallback;
  return Math.min(lim.max, Math.max(lim.min, Math.round(n)));
}

/** Brings any object into range, field by field (an old or hand-edited value keeps the rest). */
export function normaliseSettings(raw: unknown): PageSettings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  return {
    maxJobs: clampInt(r.maxJobs, SETTINGS_LIMITS.maxJobs, DEFAULT_SETTINGS.maxJobs),
    parallelDownloads: clampInt(r.parallelDownloads, SETTINGS_LIMITS.parallelDownloads, DEFAULT_SETTINGS.parallelDownloads),
    bandwidthKiBps: clampInt(r.bandwidthKiBps, SETTINGS_LIMITS.bandwidthKiBps, DEFAULT_SETTINGS.bandwidthKiBps),
    backend: BACKENDS.includes(r.backend as BackendChoice) ? (r.backend as BackendChoice) : DEFAULT_SETTINGS.backend,
    wasmThreads: clampInt(r.wasmThreads, SETTINGS_LIMITS.wasmThreads, DEFAULT_SETTINGS.wasmThreads),
    pauseWhenHidden: typeof r.pauseWhenHidden === 'boolean' ? r.pauseWhenHidden : DEFAULT_SETTINGS.pauseWhenHidden,
  };
}

function readJson(storage: KeyValueStorage, key: string): unknown {
  try {
    const text = storage.getItem(key);
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

export function loadSettings(storage: KeyValueStorage, query = ''): PageSettings {
  const settings = normaliseSettings(readJson(storage, SETTINGS_KEY));
  // `?backend=wasm` (or webgpu/auto) overrides the stored choice for this visit: tests and troubleshooting.
  const forced = new URLSearchParams(query).get('backend');
  if (forced && BACKENDS.includes(forced as BackendChoice)) settings.backend = forced as BackendChoice;
  return settings;
}

export function saveSettings(storage: KeyValueStorage, settings: PageSettings): void {
  storage.setItem(SETTINGS_KEY, JSON.stringify(normaliseSettings(settings)));
}

export function loadIdentity(storage: KeyValueStorage): Identity | null {
  const v = readJson(storage, IDENTITY_KEY);
  return isIdentity(v) ? { id: v.id, nickname: v.nickname, team: v.team, token: v.token } : null;
}

export function saveIdentity(storage: KeyValueStorage, identity: Identity): void {
  storage.setItem(IDENTITY_KEY, JSON.stringify(identity));
}

export function forgetIdentity(storage: KeyValueStorage): void {
  storage.removeItem(IDENTITY_KEY);
}

/** A storage that lives in memory, for when localStorage is blocked (and for tests). */
export function memoryStorage(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, String(v)),
    removeItem: (k) => void map.delete(k),
  };
}
