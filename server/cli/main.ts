import { commands } from './commands.ts';

const VERSION = '0.1.0';

async function printHelp(): Promise<void> {
  const lines = ['Usage: crawlswarm <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const { command } = await load();
    lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  }
  lines.push('', 'Run `crawlswarm <command> --help` for the options of one command.');
  process.stdout.write(lines.join('\n') + '\n');
}

export async function main(argv: string[]): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await printHelp();
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`crawlswarm: unknown command '${name}'. Run 'crawlswarm --help'.\n`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage.trimEnd() + '\n');
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    // node:util parseArgs: an unknown flag or a missing value is the user's mistake, not a crash
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS_')) {
      process.stderr.write(`crawlswarm ${name}: ${(err as Error).message}. Run 'crawlswarm ${name} --help'.\n`);
      return 2;
    }
    throw err;
  }
}
