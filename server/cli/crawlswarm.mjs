#!/usr/bin/env node
// The published entry point stays plain JavaScript so that `npx crawlswarm` works without a build
// step: tsx compiles the TypeScript sources on load (about 0.2 s), which costs nothing per record.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
// `undefined` means a long-running command (serve, agent) that exits on its own signals.
if (typeof code === 'number') process.exit(code);
