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
