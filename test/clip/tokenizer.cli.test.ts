import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const tokenize = (...args: string[]) => runCli(['tokenize', ...args]);

describe('crawlswarm tokenize', () => {
  it('--json prints exactly the id arrays, one line per text', async () => {
    const ref = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/clip/clip-tokenizer-reference.json'), 'utf8'));
    const cases = ref.reference_cases.cases.filter((c: { text: string }) => !c.text.includes('\0')).slice(0, 12);
    const { code, stdout } = await tokenize('--json', ...cases.map((c: { text: string }) => c.text));
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(cases.map((c: { ids: number[] }) => c.ids));
  });
  it('plain mode ends with the array and shows the tokens', async () => {
    const { code, stdout } = await tokenize('A photo of a cat');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    expect(stdout).toContain('cat</w>');
  });
  it('exits 2 without a text and 1 when the merges file is bad', async () => {
    expect((await tokenize('--json')).code).toBe(2);
    const bad = await tokenize('--vocab', join(import.meta.dirname, '../fixtures/clip/clip-tokenizer-reference.json'), 'x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('vocab_sha256_mismatch');
  });
});
