import { failure, type AckFailure } from '../../shared/protocol/ack.ts';
import {
  Complete, Fail, Heartbeat, JobRequest, Release,
  type CompleteAck, type FailAck, type HeartbeatAck, type JobRequestAck, type ReleaseAck,
} from '../../shared/protocol/job.ts';
import { JOB_KINDS } from '../../shared/jobs/kinds.ts';
import { claimJobs } from '../db/queries/claimJobs.ts';
import { completeAssignment } from '../db/queries/completeAssignment.ts';
import { failAssignment } from '../db/queries/failAssignment.ts';
import { findLease } from '../db/queries/findLease.ts';
import { heartbeatLease } from '../db/queries/heartbeatLease.ts';
import { releaseLeases } from '../db/queries/releaseLeases.ts';
import type { Deps } from '../deps.ts';
import { handle } from './handle.ts';
import type { CoordinatorSocket } from './types.ts';

const NOT_READY = failure('not_ready', 'send hello first');
const LEASE_LOST = (leaseId: string) =>
  failure('lease_lost', `lease ${leaseId} is not yours any more (expired, handed back, or unknown); drop the job`);

/** The scheduler's request path: thin handlers that validate, call one query and answer. */
export function registerJobHandlers(socket: CoordinatorSocket, deps: Deps): void {
  const { db, clock, config, log } = deps;
  // Kinds of the leases handed out on this socket, so completing needs no lookup for most kinds; after a
  // reconnect the lease is looked up in the database instead. (Payloads stay in the database: a URL job's is
  // large, and a socket may hold many leases for hours.)
  const leaseKinds = new Map<string, string>();

  socket.on('job:request', handle(socket, log, 'job:request', JobRequest, async (m): Promise<JobRequestAck | AckFailure> => {
    const worker = socket.data.worker;
    if (!worker) return NOT_READY;
    const now = clock.now();
    const kinds = worker.capabilities.jobKinds.filter((k) => k in JOB_KINDS);
    const claimed = await claimJobs(db, {
      workerId: worker.id, volunteerId: socket.data.volunteer.id, kinds, features: worker.capabilities.features,
      max: Math.min(m.max, worker.capabilities.maxJobs), now, leaseMs: config.leaseMs,
    });
    for (const c of claimed) leaseKinds.set(c.leaseId, c.kind);
    return {
      ok: true,
      jobs: claimed.map((c) => ({
        jobId: c.jobId, leaseId: c.leaseId, kind: c.kind, payload: c.payload,
        leaseDeadline: new Date(c.leaseDeadlineMs).toISOString(),
      })),
    };
  }));

  socket.on('job:heartbeat', handle(socket, log, 'job:heartbeat', Heartbeat, async (m): Promise<HeartbeatAck | AckFailure> => {
    const worker = socket.data.worker;
    if (!worker) return NOT_READY;
    const res = await heartbeatLease(db, { leaseId: m.leaseId, workerId: worker.id, now: clock.now(), leaseMs: config.leaseMs, progress: m.progress });
    if (!res) {
      leaseKinds.delete(m.leaseId);
      return LEASE_LOST(m.leaseId);
    }
    return { ok: true, leaseDeadline: new Date(res.leaseDeadlineMs).toISOString() };
  }));

  socket.on('job:complete', handle(socket, log, 'job:complete', Complete, async (m): Promise<CompleteAck | AckFailure> => {
    const worker = socket.data.worker;
    if (!worker) return NOT_READY;
    // The database row is read at most once: when the kind is not cached here, or to check the payload.
    let lease: Awaited<ReturnType<typeof findLease>> | undefined;
    const leaseRow = async () => (lease === undefined ? (lease = await findLease(db, m.leaseId, worker.id)) : lease);
    const kindName = leaseKinds.get(m.leaseId) ?? (await leaseRow())?.kind;
    if (!kindName) return LEASE_LOST(m.leaseId);
    const kind = JOB_KINDS[kindName];
    if (!kind) return failure('internal', `job kind '${kindName}' is unknown to this coordinator`);
    const parsed = kind.result.safeParse(m.result);
    if (!parsed.success) {
      return failure('bad_request', `result of a ${kindName} job: ${parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    // A result must answer the job it claims to answer: a worker may not report pairs it was never sent.
    if (kind.answers) {
      const row = await leaseRow();
      if (!row) return LEASE_LOST(m.leaseId);
      const payload = kind.payload.safeParse(row.payload);
      if (!payload.success) return failure('internal', `the stored ${kindName} job ${row.jobId} no longer parses; it cannot be checked`);
      const problem = kind.answers(payload.data, parsed.data);
      if (problem) return failure('bad_request', `result of a ${kindName} job: ${problem}`);
    }
    const body = JSON.stringify(parsed.data);
    const res = await completeAssignment(db, {
      leaseId: m.leaseId, workerId: worker.id, kind: kindName, body: parsed.data, bodyBytes: body.length, now: clock.now(),
    });
    leaseKinds.delete(m.leaseId);
    if (!res.ok) return LEASE_LOST(m.leaseId);
    return { ok: true, duplicate: res.duplicate };
  }));

  socket.on('job:fail', handle(socket, log, 'job:fail', Fail, async (m): Promise<FailAck | AckFailure> => {
    const worker = socket.data.worker;
    if (!worker) return NOT_READY;
    const res = await failAssignment(db, { leaseId: m.leaseId, workerId: worker.id, reason: m.reason, detail: m.detail, transient: m.transient, now: clock.now() });
    leaseKinds.delete(m.leaseId);
    if (!res) return LEASE_LOST(m.leaseId);
    return { ok: true, jobState: res.jobState };
  }));

  socket.on('job:release', handle(socket, log, 'job:release', Release, async (m): Promise<ReleaseAck | AckFailure> => {
    const worker = socket.data.worker;
    if (!worker) return NOT_READY;
    leaseKinds.delete(m.leaseId);
    const n = await releaseLeases(db, { workerId: worker.id, leaseId: m.leaseId, now: clock.now() });
    if (n === 0) return LEASE_LOST(m.leaseId);
    return { ok: true };
  }));
}
