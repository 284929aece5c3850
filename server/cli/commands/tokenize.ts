import { parseArgs } from 'node:util';
import { loadClipTokenizer, DEFAULT_CLIP_VOCAB_PATH } from '../../clip/vocab.ts';
import { CLIP_CONTEXT_LENGTH } from '../../../shared/clip/tokenizer.ts';
import type { Command } from '../command.ts';

const usage = `Usage: crawlswarm tokenize [--json] [--vocab FILE] "text" ["text" ...]

Prints the CLIP token ids of each text (openai/CLIP byte-level BPE), with the start (49406) and end
(49407) ids and without padding, as a JSON array on the last line of each text's output.

Options:
  --json         print only the arrays, one line per text
  --vocab FILE   gzipped merges file (default: ${DEFAULT_CLIP_VOCAB_PATH})
  -h, --help     show this help
  --             everything after it is text, even if it starts with '-'

Exit status: 0 ok, 1 the merges file could not be loaded, 2 bad arguments.`;

async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { json: { type: 'boolean', default: false }, vocab: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`crawlswarm tokenize: ${(err as Error).message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    process.stderr.write('crawlswarm tokenize: give at least one text (an empty one is "")\n');
    return 2;
  }
  const loaded = await loadClipTokenizer(values.vocab ?? DEFAULT_CLIP_VOCAB_PATH);
  if (!loaded.ok) {
    process.stderr.write(`crawlswarm tokenize: ${loaded.reason}: ${loaded.detail}\n`);
    return 1;
  }
  const { tokenizer } = loaded;
  const lines: string[] = [];
  for (const text of positionals) {
    const ids = tokenizer.encode(text);
    if (!values.json) {
      const tokens = ids.map((id) => tokenizer.tokenText(id)).join(' ');
      const fits = ids.length <= CLIP_CONTEXT_LENGTH ? 'fits' : `over ${CLIP_CONTEXT_LENGTH}: truncated when embedded`;
      lines.push(`${JSON.stringify(text)}: ${ids.length} ids (${fits})`, `tokens: ${tokens}`);
    }
    lines.push(JSON.stringify(ids));
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

export const command: Command = {
  summary: 'print the CLIP token ids of a text',
  usage,
  run,
};
