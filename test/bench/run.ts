// `npm run bench [-- --json] [--quick] [filter...]`: runs every test/bench/*.bench.ts (or those whose
// file name contains a filter) and prints one line per figure. With --json each line is
// {"name":...,"value":...,"unit":...,"baseline":...,"ratio":...}.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bench, BenchResult } from './bench.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const filters = args.filter((a) => !a.startsWith('--'));
const dir = import.meta.dirname;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

function format(r: BenchResult): string {
  const v = r.value >= 100 ? r.value.toFixed(0) : r.value.toPrecision(3);
  let line = `${r.name.padEnd(52)} ${v.padStart(10)} ${r.unit}`;
  if (r.baseline != null) line += `   baseline ${r.baseline.toPrecision(4)}   ratio ${r.ratio?.toFixed(3)}`;
  if (r.note) line += `   (${r.note})`;
  return line;
}

let failed = 0;
for (const file of files) {
  const bench = (await import(join(dir, file))).default as Bench;
  const log = (m: string) => process.stderr.write(`[${bench.name}] ${m}\n`);
  try {
    const results = await bench.run({ quick, log });
    for (const r of results) {
      const ratio = r.baseline ? r.value / r.baseline : null;
      const out = { name: r.name, value: r.value, unit: r.unit, baseline: r.baseline ?? null, ratio };
      process.stdout.write((json ? JSON.stringify(r.note ? { ...out, note: r.note } : out) : format({ ...r, ratio })) + '\n');
    }
  } catch (err) {
    failed++;
    process.stderr.write(`[${bench.name}] failed: ${(err as Error).stack ?? err}\n`);
  }
}
process.exit(failed ? 1 : 0);
