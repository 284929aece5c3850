/** One measured figure. `baseline` is the same work done by the ceiling or reference in the same run. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline?: number | null;
  /** value / baseline, filled in by the runner when a baseline exists. */
  ratio?: number | null;
  /** Free-form context for people (machine, sizes); not part of the JSON contract's required keys. */
  note?: string;
}

export interface BenchContext {
  /** `--quick`: smaller inputs, for a smoke run. */
  quick: boolean;
  /** Writes a progress line to stderr (never stdout, which carries the figures). */
  log(message: string): void;
}

/** A benchmark file under `test/bench/` named `<area>.bench.ts` default-exports one of these. */
export interface Bench {
  name: string;
  run(ctx: BenchContext): Promise<BenchResult[]>;
}
