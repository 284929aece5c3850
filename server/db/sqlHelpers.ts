import { sql, type SQL } from 'drizzle-orm';

/** A text[] literal built from parameters (drizzle expands a bare JS array into a row list instead). */
export function textArray(values: readonly string[]): SQL {
  if (values.length === 0) return sql`array[]::text[]`;
  return sql`array[${sql.join(values.map((v) => sql`${v}`), sql`, `)}]::text[]`;
}

/** A timestamptz parameter. Times come from the injected clock, never from the database's now(), so that
 * lease tests run on a fake clock; coordinators sharing a database are expected to run NTP. */
export function at(time: Date): SQL {
  return sql`${time.toISOString()}::timestamptz`;
}

/** Milliseconds since the epoch of a timestamptz column, as a float8 that both drivers return as a number. */
export function epochMs(column: SQL): SQL {
  return sql`(extract(epoch from ${column}) * 1000)::float8`;
}

/**
 * `greatest(time, column)`: a transition's time, never earlier than the one it follows. `time` is read before a
 * statement waits for its connection and snapshot, and coordinators sharing a database have their own clocks,
 * so without this an assignment could end before it began. Every `assignments.ended_at` is written through it,
 * and a job freed by a lease's end gets `run_after` at or after that end, so its leases never overlap in time.
 */
export function notBefore(time: Date, column: SQL): SQL {
  return sql`greatest(${at(time)}, ${column})`;
}
