/** One subcommand of `crawlswarm`. Each lives in its own file under `server/cli/commands/`. */
export interface Command {
  /** One line for `crawlswarm --help`. */
  summary: string;
  /** Full text for `crawlswarm <name> --help`. */
  usage: string;
  /**
   * Runs the command. Resolve with the process exit status, or `undefined` for commands that keep
   * running (a server) and exit through their own signal handling.
   */
  run(argv: string[]): Promise<number | undefined>;
}
