import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgentTotals, createDisplay, type DisplayMode } from '../../server/agent/display.ts';
import type { WorkClientEvent } from '../../shared/client/workClient.ts';
import type { Assignment } from '../../shared/protocol/job.ts';

const job = (jobId: string, kind = 'url'): Assignment => ({ jobId, leaseId: randomUUID(), kind, payload: null, leaseDeadline: new Date().toISOString() });

/** The same session in every mode: a good URL job, a failed one, one the coordinator rejected, a warning, a refusal. */
function session(mode: DisplayMode) {
  const err: string[] = [];
  const out: string[] = [];
  const totals = new AgentTotals();
  const d = createDisplay(mode, totals, { err: { write: (t: string) => err.push(t), columns: 200 }, out: { write: (t: string) => out.push(t) } });
  const a = job('11');
  const b = job('12');
  const c = job('13', 'wat');
  const events: WorkClientEvent[] = [
    { type: 'state', state: 'ready' },
    { type: 'job:start', job: a },
    { type: 'job:progress', job: a, progress: { done: 3, total: 4, unit: 'images' } },
    { type: 'job:done', job: a, accepted: true, outcome: { ok: true, result: { counts: { ok: 3, cors: 1 }, kept: 2, urls: [{}, {}, {}, {}] } } },
    { type: 'job:start', job: b },
    { type: 'job:done', job: b, accepted: true, outcome: { ok: false, reason: 'network_error', detail: 'ECONNRESET while reading', transient: true } },
    { type: 'job:start', job: c },
    { type: 'job:done', job: c, accepted: false, reason: 'bad_request: result of a wat job: candidates.0.url', outcome: { ok: true, result: { candidates: [{}] } } },
    { type: 'warning', message: 'job:request refused: internal: boom' },
    { type: 'state', state: 'refused', detail: 'version_too_old: update crawlswarm' },
  ];
  for (const e of events) d.onEvent(e);
  d.close();
  return { err: err.join(''), out: out.join(''), totals };
}

describe('agent display', () => {
  it('counts the same totals in every mode', () => {
    for (const mode of ['tty', 'plain', 'json', 'quiet'] as const) {
      const { totals } = session(mode);
      expect(totals.summary(), mode).toMatchObject({ jobsDone: 1, jobsFailed: 1, jobsRejected: 1, items: 4, kept: 2, statuses: { ok: 3, cors: 1 } });
    }
  });

  it('quiet prints only what needs attention: failures, rejections, warnings and the refusal', () => {
    const { err, out } = session('quiet');
    expect(out).toBe('');
    const lines = err.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/job 12 \(url\) failed: network_error: ECONNRESET while reading$/);
    expect(lines[1]).toMatch(/job 13 \(wat\) done \(not accepted: bad_request: result of a wat job/);
    expect(lines[2]).toMatch(/warning: job:request refused: internal: boom$/);
    expect(lines[3]).toMatch(/refused: version_too_old: update crawlswarm$/);
    expect(err).not.toMatch(/job 11/);
  });

  it('plain logs every job with a timestamp; tty keeps successes on the live line, which counts rejections', () => {
    const plain = session('plain').err.trim().split('\n');
    expect(plain.every((l) => /^\d{4}-\d\d-\d\dT[\d:.]+Z /.test(l))).toBe(true);
    expect(plain.some((l) => l.endsWith('job 11 (url) done'))).toBe(true);
    const tty = session('tty').err;
    expect(tty).not.toMatch(/job 11 \(url\) done/);
    expect(tty).toMatch(/job 12 \(url\) failed: network_error/);
    const last = tty.split('\r\x1b[2K').at(-1)!;
    expect(last).toBe('[refused] jobs 1 done, 1 failed, 1 rejected | items 4 (' + last.match(/\(([\d.]+)\/s\)/)![1] + '/s), kept 2, not scored 1 | idle\n');
  });

  it('json writes one parseable line per event to stdout, none for progress, nothing to stderr', () => {
    const { err, out } = session('json');
    expect(err).toBe('');
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual(['state', 'job:start', 'job:done', 'job:start', 'job:done', 'job:start', 'job:done', 'warning', 'state']);
    expect(lines[4]).toMatchObject({ jobId: '12', kind: 'url', ok: false, accepted: true, reason: 'network_error' });
    expect(lines[8]).toMatchObject({ state: 'refused', detail: 'version_too_old: update crawlswarm' });
  });
});

describe('agent live line', () => {
  it('shows each running job with its progress, as a percentage where the job knows its size', () => {
    const err: string[] = [];
    const d = createDisplay('tty', new AgentTotals(), { err: { write: (t: string) => err.push(t), columns: 300 }, out: { write: () => {} } });
    const w = job('21', 'wat');
    const u = job('22', 'url');
    d.onEvent({ type: 'job:start', job: w });
    d.onEvent({ type: 'job:progress', job: w, progress: { done: 10, unit: 'records', bytes: 50_000, totalBytes: 200_000 } });
    d.onEvent({ type: 'job:start', job: u });
    d.onEvent({ type: 'job:progress', job: u, progress: { done: 30, total: 100, unit: 'images' } });
    d.close();
    expect(err.join('').split('\r\x1b[2K').at(-1)).toMatch(/\| wat #21 10 records 25%, url #22 30\/100 images 30%\n$/);
  });
});
