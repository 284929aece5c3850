import type { Command } from './command.ts';

// Loaded lazily so that `crawlswarm tokenize` does not pay for sharp, onnxruntime or PGlite.
// Add one line per subcommand; the order is the order of `crawlswarm --help`.
export const commands: Record<string, () => Promise<{ command: Command }>> = {
  serve: () => import('./commands/serve.ts'),
  extract: () => import('./commands/extract.ts'),
  agent: () => import('./commands/agent.ts'),
  ingest: () => import('./commands/ingest.ts'),
  probe: () => import('./commands/probe.ts'),
  tokenize: () => import('./commands/tokenize.ts'),
  model: () => import('./commands/model.ts'),
};
