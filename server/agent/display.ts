import type { WorkClientEvent } from '../../shared/client/workClient.ts';
import { progressFraction } from '../../shared/protocol/job.ts';

export type DisplayMode = 'tty' | 'plain' | 'json' | 'quiet';

/** Running totals the agent shows while it works and prints at exit. */
export class AgentTotals {
  jobsDone = 0;
  jobsFailed = 0;
  jobsRejected = 0;
  jobsLost = 0;
  items = 0;
  kept = 0;
  statuses: Record<string, number> = {};
  readonly started = Date.now();
  current = new Map<string, string>();
  state = 'starting';

  summary() {
    const seconds = (Date.now() - this.started) / 1000;
    return {
      seconds: Math.round(seconds * 10) / 10, jobsDone: this.jobsDone, jobsFailed: this.jobsFailed, jobsRejected: this.jobsRejected,
      jobsLost: this.jobsLost, items: this.items, kept: this.kept, itemsPerSecond: seconds > 0 ? Math.round((this.items / seconds) * 10) / 10 : 0,
      statuses: this.statuses,
    };
  }
}

/** Where the display writes: status and log lines to `err`, JSON lines to `out` (stdout stays parseable). */
export interface DisplayStreams {
  err: { write(text: string): unknown; columns?: number };
  out: { write(text: string): unknown };
}

/**
 * Turns work-client events into terminal output: a live status line (tty), timestamped log lines (plain), or
 * JSON lines (json). `quiet` prints only what needs the volunteer's attention (refusals, failed or rejected
 * jobs, warnings); every mode ends with the summary the caller prints.
 */
export function createDisplay(mode: DisplayMode, totals: AgentTotals, streams: DisplayStreams = { err: process.stderr, out: process.stdout }) {
  const err = streams.err;
  let timer: ReturnType<typeof setInterval> | null = null;
  const line = () => {
    const s = totals.summary();
    const jobs = [...totals.current.values()].join(', ') || 'idle';
    const rejected = s.jobsRejected ? `, ${s.jobsRejected} rejected` : '';
    // images not scored (any status but ok): opt-outs, bombs, CORS, dead hosts...
    const notScored = Object.entries(s.statuses).reduce((n, [k, v]) => (k === 'ok' ? n : n + v), 0);
    return `[${totals.state}] jobs ${s.jobsDone} done, ${s.jobsFailed} failed${rejected} | items ${s.items} (${s.itemsPerSecond}/s), kept ${s.kept}, not scored ${notScored} | ${jobs}`;
  };
  if (mode === 'tty') {
    timer = setInterval(() => err.write(`\r\x1b[2K${line().slice(0, (err.columns || 120) - 1)}`), 500);
    timer.unref();
  }
  /** `important` lines show in every mode but json; the rest are left out by quiet. */
  const log = (text: string, important = false) => {
    if (mode === 'tty') err.write(`\r\x1b[2K${text}\n`);
    else if (mode === 'plain' || (mode === 'quiet' && important)) err.write(`${new Date().toISOString()} ${text}\n`);
  };
  return {
    onEvent(e: WorkClientEvent) {
      if (mode === 'json') {
        const { type } = e;
        const o: Record<string, unknown> = { t: new Date().toISOString(), event: type };
        if (e.type === 'state') Object.assign(o, { state: e.state, detail: e.detail });
        if ('job' in e) Object.assign(o, { jobId: e.job.jobId, kind: e.job.kind });
        if (e.type === 'job:done') Object.assign(o, { ok: e.outcome.ok, accepted: e.accepted, reason: e.outcome.ok ? e.reason : e.outcome.reason });
        if (e.type === 'warning') o.message = e.message;
        if (e.type !== 'job:progress') streams.out.write(JSON.stringify(o) + '\n');
      }
      switch (e.type) {
        case 'state':
          totals.state = e.state;
          if (mode !== 'json') log(`${e.state}${e.detail ? `: ${e.detail}` : ''}`, e.state === 'refused');
          break;
        case 'job:start':
          totals.current.set(e.job.leaseId, `${e.job.kind} #${e.job.jobId}`);
          break;
        case 'job:progress':
          {
            const f = progressFraction(e.progress);
            const unit = e.progress.unit ? ` ${e.progress.unit}` : '';
            totals.current.set(e.job.leaseId, `${e.job.kind} #${e.job.jobId} ${e.progress.done}${e.progress.total ? `/${e.progress.total}` : ''}${unit}${f !== null ? ` ${Math.round(f * 100)}%` : ''}`);
          }
          break;
        case 'job:lost':
          totals.current.delete(e.job.leaseId);
          totals.jobsLost++;
          if (mode !== 'json') log(`lost job ${e.job.jobId}: ${e.detail}`, true);
          break;
        case 'job:done': {
          totals.current.delete(e.job.leaseId);
          if (!e.accepted) totals.jobsRejected++;
          else if (e.outcome.ok) totals.jobsDone++;
          else totals.jobsFailed++;
          // URL jobs report per-image statuses; WAT jobs their candidates; noop jobs count as one item
          const r = e.outcome.ok ? (e.outcome.result as { counts?: Record<string, number>; kept?: number; urls?: unknown[]; candidates?: unknown[] } | null) : null;
          if (e.accepted && r?.counts) for (const [k, v] of Object.entries(r.counts)) totals.statuses[k] = (totals.statuses[k] ?? 0) + v;
          if (e.accepted) totals.items += r?.urls?.length ?? r?.candidates?.length ?? (e.outcome.ok ? 1 : 0);
          totals.kept += r?.kept ?? 0;
          const bad = !e.outcome.ok || !e.accepted;
          const text = `job ${e.job.jobId} (${e.job.kind}) ${e.outcome.ok ? 'done' : `failed: ${e.outcome.reason}: ${e.outcome.detail}`}${e.accepted ? '' : ` (not accepted: ${e.reason})`}`;
          // a live line already counts successes; a log line per done job would scroll it away
          if (mode === 'plain' || bad) log(text.slice(0, 500), bad);
          break;
        }
        case 'warning':
          if (mode !== 'json') log(`warning: ${e.message}`, true);
          break;
        default:
          break;
      }
    },
    close() {
      if (timer) clearInterval(timer);
      if (mode === 'tty') err.write(`\r\x1b[2K${line()}\n`);
    },
  };
}
