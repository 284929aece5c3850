import type { z } from 'zod';

/** A job kind: the schemas of what the coordinator sends and what a worker sends back. Both ends
 * validate with these; the coordinator stores only results that pass `result`. */
export interface JobKind<P = unknown, R = unknown> {
  kind: string;
  payload: z.ZodType<P>;
  result: z.ZodType<R>;
  /** Features a worker must have for this kind, beyond running it (see Capabilities.features). */
  requires: readonly string[];
  /** What the schema cannot see: whether a well-formed result answers this job (a problem, or null). */
  answers?(payload: P, result: R): string | null;
}
