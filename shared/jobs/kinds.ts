import type { JobKind } from './kind.ts';
import { noopKind } from './noop.ts';
import { urlKind } from './url.ts';
import { watKind } from './wat.ts';

/** Every job kind the protocol knows, by name. */
export const JOB_KINDS: Record<string, JobKind> = {
  [noopKind.kind]: noopKind as JobKind,
  [watKind.kind]: watKind as JobKind,
  [urlKind.kind]: urlKind as JobKind,
};
