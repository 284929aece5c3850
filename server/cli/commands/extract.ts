import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import type { Candidate } from '../../../shared/wat/types.ts';
import { createEldDetector, type EldSize } from '../../../shared/wat/language.ts';
import { extractWatFromLocation } from '../../wat/extract-node.ts';
import { parseRange, type ByteRange } from '../../wat/source.ts';

const usage = `Usage: crawlswarm extract <file-or-url> [options]

Reads a Common Crawl WAT file (multi-member .gz or uncompressed; local path or http(s) URL) and
extracts image/alt-text candidates. The last line of stdout is a JSON summary.

Options:
  --out FILE            write candidates as JSON lines ({url, alt, pageUrl, language, languageScore})
  --range START-END     only gzip members (records, for uncompressed files) that start in
                        [START, END) bytes; END may be left out ("1000-")
  --lang SIZE           ELD database: extrasmall | small (default) | medium | large | none
  --min-alt N           minimum alt length in characters (default 5)
  --progress            progress lines on stderr
  -h, --help

Exit status: 0 clean, 3 when the input was damaged (some of it could not be read; the rest was
extracted), 1 when the source could not be opened, 2 on bad usage.`;

async function writeLine(out: WriteStream, line: string): Promise<void> {
  if (!out.write(line)) await once(out, 'drain');
}

export const command: Command = {
  summary: 'Extract image/alt-text candidates from a WAT file or URL',
  usage,
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          out: { type: 'string' },
          range: { type: 'string' },
          lang: { type: 'string', default: 'small' },
          'min-alt': { type: 'string' },
          progress: { type: 'boolean', default: false },
        },
      });
    } catch (e) {
      process.stderr.write(`extract: ${(e as Error).message}\n`);
      return 2;
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) {
      process.stderr.write(usage + '\n');
      return 2;
    }
    let range: ByteRange | undefined;
    if (values.range) {
      const r = parseRange(values.range);
      if (!r.ok) {
        process.stderr.write(`extract: ${r.detail}\n`);
        return 2;
      }
      range = r.range;
    }
    const sizes = ['extrasmall', 'small', 'medium', 'large', 'none'];
    if (!sizes.includes(values.lang)) {
      process.stderr.write(`extract: --lang must be one of ${sizes.join(', ')}\n`);
      return 2;
    }
    const minAlt = values['min-alt'] === undefined ? undefined : Number(values['min-alt']);
    if (minAlt !== undefined && !(Number.isInteger(minAlt) && minAlt >= 0)) {
      process.stderr.write('extract: --min-alt must be a whole number\n');
      return 2;
    }
    const detectLanguage = values.lang === 'none' ? null : await createEldDetector(values.lang as EldSize);
    const out = values.out ? createWriteStream(values.out) : null;
    const result = await extractWatFromLocation(positionals[0]!, {
      range,
      detectLanguage,
      rules: minAlt === undefined ? {} : { minAltChars: minAlt },
      onCandidates: out
        ? async (batch: Candidate[]) => {
            await writeLine(out, batch.map((c) => JSON.stringify(c)).join('\n') + '\n');
          }
        : undefined,
      onProgress: values.progress
        ? (p) => {
            const pct = p.totalBytes ? ` ${((100 * p.bytes) / p.totalBytes).toFixed(1)}%` : '';
            process.stderr.write(`extract: ${p.records} records, ${p.bytes} bytes${pct}, ${p.candidates} candidates\n`);
          }
        : undefined,
    });
    if (out) {
      out.end();
      await once(out, 'close');
    }
    if (!result.ok) {
      process.stdout.write(JSON.stringify({ ok: false, reason: result.reason, detail: result.detail }) + '\n');
      return 1;
    }
    process.stdout.write(JSON.stringify(result.summary) + '\n');
    return result.summary.damaged ? 3 : 0;
  },
};
