import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS, IDENTITY_KEY, SETTINGS_KEY, forgetIdentity, loadIdentity, loadSettings, memoryStorage, normaliseSettings,
  saveIdentity, saveSettings,
} from '../../client/src/lib/settings.ts';

describe('page settings in localStorage', () => {
  it('gives the defaults on a first visit', () => {
    expect(loadSettings(memoryStorage())).toEqual(DEFAULT_SETTINGS);
  });

  it('round-trips what the volunteer chose, in the real jsdom localStorage too', () => {
    for (const storage of [memoryStorage(), window.localStorage]) {
      const chosen = { maxJobs: 3, parallelDownloads: 8, bandwidthKiBps: 512, backend: 'wasm' as const, wasmThreads: 2, pauseWhenHidden: false };
      saveSettings(storage, chosen);
      expect(loadSettings(storage)).toEqual(chosen);
      storage.removeItem(SETTINGS_KEY);
    }
  });

  it('clamps out-of-range numbers and keeps the valid fields of a damaged record', () => {
    expect(normaliseSettings({ maxJobs: 99, parallelDownloads: 0, bandwidthKiBps: -5, backend: 'cuda', wasmThreads: 64, pauseWhenHidden: 'yes' })).toEqual({
      maxJobs: 4, parallelDownloads: 1, bandwidthKiBps: 0, backend: 'auto', wasmThreads: 16, pauseWhenHidden: false,
    });
    expect(normaliseSettings({ maxJobs: '2', parallelDownloads: 2.6 })).toMatchObject({ maxJobs: 2, parallelDownloads: 3 });
    const storage = memoryStorage();
    storage.setItem(SETTINGS_KEY, '{not json');
    expect(loadSettings(storage)).toEqual(DEFAULT_SETTINGS);
  });

  it('?backend= overrides the stored choice for the visit only', () => {
    const storage = memoryStorage();
    saveSettings(storage, { ...DEFAULT_SETTINGS, backend: 'webgpu' });
    expect(loadSettings(storage, '?backend=wasm').backend).toBe('wasm');
    expect(loadSettings(storage, '?backend=bogus').backend).toBe('webgpu');
    expect(JSON.parse(storage.getItem(SETTINGS_KEY)!).backend).toBe('webgpu');
  });

  it('keeps the identity with its token, refuses a malformed one, and forgets it', () => {
    const storage = memoryStorage();
    expect(loadIdentity(storage)).toBeNull();
    saveIdentity(storage, { id: 7, nickname: 'ada', team: null, token: 'tok' });
    expect(loadIdentity(storage)).toEqual({ id: 7, nickname: 'ada', team: null, token: 'tok' });
    storage.setItem(IDENTITY_KEY, JSON.stringify({ nickname: 'ada' }));
    expect(loadIdentity(storage)).toBeNull();
    saveIdentity(storage, { id: 7, nickname: 'ada', team: 'x-team', token: 'tok' });
    forgetIdentity(storage);
    expect(storage.getItem(IDENTITY_KEY)).toBeNull();
  });
});

describe('WASM thread count', () => {
  it('is 1 without cross-origin isolation, cores - 1 (at most 4) by default, else the choice within the cores', async () => {
    const { wasmThreadCount } = await import('../../client/worker/clipSetup.ts');
    expect(wasmThreadCount(0, 8, false)).toBe(1);
    expect(wasmThreadCount(0, 2, true)).toBe(1);
    expect(wasmThreadCount(0, 4, true)).toBe(3);
    expect(wasmThreadCount(0, 16, true)).toBe(4);
    expect(wasmThreadCount(2, 2, true)).toBe(2);
    expect(wasmThreadCount(12, 8, true)).toBe(8);
  });
});

describe('nickname rule of the page', () => {
  it('is the protocol rule (the page keeps its own copy to stay free of zod)', async () => {
    const { NICKNAME_RULE, checkNames } = await import('../../client/src/lib/api.ts');
    const { NICKNAME_PATTERN } = await import('../../shared/protocol/http.ts');
    expect(NICKNAME_RULE.source).toBe(NICKNAME_PATTERN.source);
    expect(checkNames('ada_99', null)).toBeNull();
    expect(checkNames('ada', 'x')).toMatch(/^Team/);
    expect(checkNames('a b', null)).toMatch(/^Nickname/);
  });
});
