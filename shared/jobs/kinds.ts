import type { JobKind } from './kind.ts';
import { noopKind } from './noop.ts';

/** Every job kind the protocol knows, by name. */
export const JOB_KINDS: Record<string, JobKind> = {
  [noopKind.kind]: noopKind as JobKind,
};
