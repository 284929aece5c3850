// State vocabularies shared by the coordinator, the page and the agent. The SQL CHECK constraints in
// migrations/ list the same values; test/db/states.test.ts keeps the two in step.

/** A job (BOINC's workunit). `queued`: wants more assignments; `active`: every wanted replica is out;
 * `completed`: enough results came back (the validator takes it from here); `failed`: parked after too many
 * failures or expiries, with its reasons kept. */
export const JOB_STATES = ['queued', 'active', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** One hand-out of a job to one worker (BOINC's result instance). */
export const ASSIGNMENT_STATES = ['leased', 'completed', 'failed', 'expired', 'released'] as const;
export type AssignmentState = (typeof ASSIGNMENT_STATES)[number];

/** Why an assignment ended without a result; stored, so audits and backoff can use them. */
export const END_REASONS = ['lease_expired', 'heartbeat_missed', 'worker_failed', 'worker_released', 'worker_left'] as const;
export type EndReason = (typeof END_REASONS)[number];

/** Verification outcome of a completed assignment, named after BOINC's validate states. */
export const VALIDATE_STATES = ['pending', 'valid', 'invalid', 'inconclusive', 'too_late'] as const;
export type ValidateState = (typeof VALIDATE_STATES)[number];

export const WORKER_KINDS = ['browser', 'node'] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];
