// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { devicesFor } from '../../client/worker/clipSetup.ts';

describe('which CLIP devices a tab tries', () => {
  it('automatic: WebGPU first and WASM if WebGPU fails; WASM alone without an adapter', () => {
    expect(devicesFor('auto', true)).toEqual(['webgpu', 'wasm']);
    expect(devicesFor('auto', false)).toEqual(['wasm']);
  });
  it('a forced choice is kept: WASM only, or WebGPU only (none without an adapter, which the page reports)', () => {
    expect(devicesFor('wasm', true)).toEqual(['wasm']);
    expect(devicesFor('webgpu', true)).toEqual(['webgpu']);
    expect(devicesFor('webgpu', false)).toEqual([]);
  });
});
