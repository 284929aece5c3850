import type { CoordinatorConfig } from './config.ts';
import type { Database } from './db/database.ts';
import type { Logger } from './log.ts';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/** What every role receives; nothing is a module-level singleton. */
export interface Deps {
  db: Database;
  clock: Clock;
  log: Logger;
  config: CoordinatorConfig;
}
