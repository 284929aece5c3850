import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import { ARCHS } from '../../model/clipArch.ts';
import { FETCHABLE, fetchModel } from '../../model/fetch.ts';
import { SYNTH_DTYPES, synthModel } from '../../model/synth.ts';
import type { GraphDtype } from '../../model/clipGraph.ts';

const usage = `Usage:
  crawlswarm model synth --arch tiny|vit-b-32 [--dtype fp32|q8|fp32,q8] [--seed N] [--out models/synth-<arch>]
      Writes a CLIP model with seeded random weights and the signature of the public ONNX export
      (onnx/vision_model*.onnx, onnx/text_model*.onnx, manifest.json). Default: both dtypes.
  crawlswarm model fetch clip-vit-b-32 [--from URL-base] [--out models/clip-vit-b-32]
      Downloads the transformers.js export of openai/clip-vit-base-patch32 (fp32, q8, fp16 when present),
      hashes it and writes manifest.json. --from replaces https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/
`;

async function synth(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { arch: { type: 'string' }, dtype: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } },
  });
  const arch = values.arch as keyof typeof ARCHS | undefined;
  if (!arch || !(arch in ARCHS)) {
    process.stderr.write(`model synth: --arch must be one of ${Object.keys(ARCHS).join(', ')}\n`);
    return 2;
  }
  const dtypes = (values.dtype ?? SYNTH_DTYPES.join(',')).split(',') as GraphDtype[];
  if (dtypes.some((d) => !SYNTH_DTYPES.includes(d))) {
    process.stderr.write(`model synth: --dtype takes ${SYNTH_DTYPES.join(', ')} (comma-separated)\n`);
    return 2;
  }
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) {
    process.stderr.write('model synth: --seed must be an integer\n');
    return 2;
  }
  const outDir = values.out ?? `models/synth-${arch}`;
  const log = (l: string) => process.stderr.write(l + '\n');
  const r = await synthModel({ arch, dtypes, seed, outDir, log });
  const fmt = (n: number) => `${(n / 1e6).toFixed(2)}M`;
  const pub = r.published;
  process.stdout.write(
    [
      `wrote ${r.dir}/manifest.json (${r.manifest.id}, ${r.manifest.variants.map((v) => v.dtype).join(' + ')})`,
      `parameters: vision ${r.parameters.vision} (${fmt(r.parameters.vision)})${pub ? `, published ~${fmt(pub.vision)}` : ''}`,
      `            text   ${r.parameters.text} (${fmt(r.parameters.text)})${pub ? `, published ~${fmt(pub.text)}` : ''}`,
      ...(pub ? [`            (published: ${pub.source})`] : []),
    ].join('\n') + '\n',
  );
  return 0;
}

async function fetchCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { from: { type: 'string' }, out: { type: 'string' } } });
  const id = positionals[0];
  if (!id || !(id in FETCHABLE)) {
    process.stderr.write(`model fetch: name one of ${Object.keys(FETCHABLE).join(', ')}\n`);
    return 2;
  }
  const r = await fetchModel({
    id,
    outDir: values.out ?? `models/${id}`,
    ...(values.from ? { from: values.from } : {}),
    log: (l) => process.stderr.write(l + '\n'),
  });
  if (!r.ok) {
    process.stderr.write(`model fetch: ${r.reason}: ${r.detail}\n`);
    return 1;
  }
  process.stdout.write(`wrote ${r.dir}/manifest.json (${r.manifest.variants.map((v) => v.dtype).join(' + ')})\n`);
  return 0;
}

export const command: Command = {
  summary: 'Build (synth) or download (fetch) CLIP ONNX models and their manifest',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    try {
      if (sub === 'synth') return await synth(rest);
      if (sub === 'fetch') return await fetchCmd(rest);
    } catch (e) {
      process.stderr.write(`model ${sub}: ${(e as Error).message}\n`);
      return 2;
    }
    process.stderr.write(usage);
    return 2;
  },
};
