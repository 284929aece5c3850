// The client half of the protocol, shared by the headless agent and the page's Web Worker: connect with a
// token, say hello, keep up to maxJobs jobs running, heartbeat their leases, upload results (retrying across
// reconnects until the coordinator has acknowledged them), hand jobs back on pause/stop, say bye.
import { io as connect, type Socket } from 'socket.io-client';
import { ACK_SCHEMAS, type ClientToServerEvents, type ServerToClientEvents } from '../protocol/events.ts';
import { MAX_MESSAGE_BYTES, MESSAGE_OVERHEAD_BYTES } from '../protocol/limits.ts';
import { HandshakeRefusal } from '../protocol/handshake.ts';
import type { Capabilities, HelloAck } from '../protocol/hello.ts';
import type { Assignment, Progress } from '../protocol/job.ts';
import { CLIENT_VERSION, PROTOCOL_VERSION } from '../protocol/version.ts';
import type { WorkerKind } from '../states.ts';
import type { ExecutionOutcome, JobExecutor } from './executor.ts';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type WorkClientState = 'stopped' | 'connecting' | 'ready' | 'paused' | 'refused' | 'stopping';

export type WorkClientEvent =
  | { type: 'state'; state: WorkClientState; detail?: string }
  | { type: 'hello'; ack: Extract<HelloAck, { ok: true }> }
  | { type: 'job:start'; job: Assignment }
  | { type: 'job:progress'; job: Assignment; progress: Progress }
  | { type: 'job:done'; job: Assignment; outcome: ExecutionOutcome; accepted: boolean; duplicate?: boolean; reason?: string }
  | { type: 'job:lost'; job: Assignment; detail: string }
  | { type: 'warning'; message: string };

export interface WorkClientOptions {
  url: string;
  token: string;
  kind: WorkerKind;
  capabilities: Capabilities;
  executors: Record<string, JobExecutor>;
  /** Survives reconnects; defaults to a fresh random id per client object. */
  sessionId?: string;
  userAgent?: string;
  /** Poll for work this often when the coordinator had none (plus jitter); `job:available` wakes us sooner. */
  idlePollMs?: number;
  ackTimeoutMs?: number;
  /** The coordinator's largest message (default MAX_MESSAGE_BYTES, which it uses unless configured otherwise). */
  maxMessageBytes?: number;
  /** After a clean coordinator shutdown, wait this long (up to twice, at random) before reconnecting. */
  serverDisconnectDelayMs?: number;
  /** socket.io-client options passed through (tests use `forceNew`, `transports`). */
  socketOptions?: Record<string, unknown>;
  onEvent?: (e: WorkClientEvent) => void;
}

interface Running {
  job: Assignment;
  abort: AbortController;
  progress?: Progress;
  timer?: ReturnType<typeof setInterval>;
}

interface Upload {
  job: Assignment;
  outcome: ExecutionOutcome;
  attempts: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class WorkClient {
  readonly sessionId: string;
  private socket: ClientSocket | null = null;
  private state: WorkClientState = 'stopped';
  private heartbeatMs = 15_000;
  private helloDone = false;
  private readonly running = new Map<string, Running>();
  private readonly outbox: Upload[] = [];
  private flushing = false;
  private filling = false;
  private wake: (() => void) | null = null;
  private pumpTimer: ReturnType<typeof setTimeout> | null = null;
  private stopping: Promise<void> | null = null;
  private cutDrain = false;

  constructor(private readonly opts: WorkClientOptions) {
    this.sessionId = opts.sessionId ?? crypto.randomUUID();
  }

  get currentState(): WorkClientState {
    return this.state;
  }
  get runningJobs(): number {
    return this.running.size;
  }
  get pendingUploads(): number {
    return this.outbox.length;
  }

  private emit(e: WorkClientEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      // a display callback must never break the work loop
    }
  }

  private setState(state: WorkClientState, detail?: string): void {
    if (this.state === state) return;
    this.state = state;
    this.emit({ type: 'state', state, detail });
  }

  start(): void {
    if (this.socket) return;
    this.setState('connecting');
    const socket: ClientSocket = connect(this.opts.url, {
      auth: { token: this.opts.token, protocol: PROTOCOL_VERSION, clientVersion: CLIENT_VERSION },
      reconnectionDelay: 500,
      reconnectionDelayMax: 5_000,
      randomizationFactor: 0.5,
      ...this.opts.socketOptions,
    });
    this.socket = socket;
    socket.on('connect', () => void this.onConnect());
    socket.on('disconnect', (reason) => {
      this.helloDone = false;
      if (this.state === 'ready') this.setState('connecting', `disconnected: ${reason}`);
      // socket.io-client retries lost connections by itself, but not one the server closed: a coordinator
      // shutting down cleanly (a deploy, a restart) says "io server disconnect" to every socket. Come back
      // once it is up again, spread out so that thousands of clients do not all knock at the same moment.
      if (reason === 'io server disconnect') this.scheduleReconnect(socket);
    });
    socket.on('connect_error', (err) => {
      const refusal = HandshakeRefusal.safeParse((err as Error & { data?: unknown }).data);
      if (refusal.success) {
        // The coordinator said no (bad token, too old): retrying cannot help.
        this.setState('refused', `${refusal.data.reason}: ${refusal.data.detail}`);
        socket.close();
        this.abortAll('refused by the coordinator');
      }
      // anything else is a network error: socket.io reconnects by itself with backoff
    });
    socket.on('job:available', () => this.wake?.());
  }

  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;

  /** A delay spread over [d, 2d), so that clients that lost the same coordinator do not come back together. */
  private spreadDelay(): number {
    return (this.opts.serverDisconnectDelayMs ?? 3_000) * (1 + Math.random());
  }

  private scheduleReconnect(socket: ClientSocket): void {
    if (this.reconnectTimer) return;
    const delay = this.spreadDelay();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.socket !== socket || socket.connected || this.state === 'refused' || this.state === 'stopping') return;
      // if the coordinator is not back yet, socket.io's own backoff takes over from this attempt
      socket.connect();
    }, delay);
  }

  private async onConnect(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    const ack = await this.ask('hello', {
      sessionId: this.sessionId,
      kind: this.opts.kind,
      capabilities: this.opts.capabilities,
      userAgent: this.opts.userAgent,
    });
    if (!ack) {
      // Disconnected: the next connect says hello again. Still connected (the coordinator was too busy to
      // answer in time, or answered something malformed): ask again after a while, spread out.
      if (socket.connected) {
        setTimeout(() => {
          if (this.socket === socket && socket.connected && !this.helloDone && this.state !== 'stopping') void this.onConnect();
        }, this.spreadDelay());
      }
      return;
    }
    if (!ack.ok) {
      this.setState('refused', `${ack.reason}: ${ack.detail}`);
      socket.close();
      return;
    }
    this.heartbeatMs = ack.heartbeatMs;
    this.helloDone = true;
    this.emit({ type: 'hello', ack });
    // Leases the coordinator thinks we hold but we do not run (e.g. lost across a restart of this
    // object) are handed back so they do not wait for expiry.
    for (const leaseId of ack.leases) {
      if (![...this.running.values()].some((r) => r.job.leaseId === leaseId) && !this.outbox.some((u) => u.job.leaseId === leaseId)) {
        void this.ask('job:release', { leaseId });
      }
    }
    if (this.state !== 'paused' && this.state !== 'stopping') this.setState('ready');
    void this.flush();
    this.schedulePump(0);
  }

  /** emitWithAck with a timeout; null when it timed out or the socket is down. */
  private async ask<E extends keyof ClientToServerEvents>(
    event: E,
    message: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0] | null> {
    const socket = this.socket;
    if (!socket?.connected) return null;
    let answer: unknown;
    try {
      // socket.io's typings cannot follow a generic event name through emitWithAck
      answer = await (socket.timeout(this.opts.ackTimeoutMs ?? 15_000) as unknown as {
        emitWithAck(e: string, m: unknown): Promise<unknown>;
      }).emitWithAck(event, message);
    } catch {
      return null;
    }
    // Treated like no answer (retried later): acting on a malformed one could drop a result or a job.
    const checked = ACK_SCHEMAS[event].safeParse(answer);
    if (!checked.success) {
      this.emit({ type: 'warning', message: `the coordinator answered ${event} with something unexpected: ${checked.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
      return null;
    }
    return answer as Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];
  }

  /** A result over the coordinator's message limit would drop the connection on every try: fail the job instead. */
  private fitResult(outcome: ExecutionOutcome): ExecutionOutcome {
    if (!outcome.ok) return outcome;
    const limit = (this.opts.maxMessageBytes ?? MAX_MESSAGE_BYTES) - MESSAGE_OVERHEAD_BYTES;
    let json: string;
    try {
      json = JSON.stringify(outcome.result);
    } catch (err) {
      // beyond V8's longest string: far over any message limit
      return { ok: false, reason: 'result_too_large', detail: `the result cannot even be serialised (${(err as Error).message}): the job needs smaller slices`, transient: false };
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: encode only when the cheap bound does not settle it
    if (json.length * 3 <= limit) return outcome;
    const bytes = json.length <= limit ? new TextEncoder().encode(json).byteLength : json.length;
    if (bytes <= limit) return outcome;
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    return { ok: false, reason: 'result_too_large', detail: `the result is ${mb(bytes)} MiB, over the coordinator's ${mb(limit)} MiB per message: the job needs smaller slices`, transient: false };
  }

  private schedulePump(delayMs: number): void {
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = null;
      void this.fill();
    }, delayMs);
  }

  /** Keeps the job slots full; when the coordinator has nothing, waits for `job:available` or the poll. */
  private async fill(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      while (this.state === 'ready' && this.helloDone) {
        const free = this.opts.capabilities.maxJobs - this.running.size - this.outbox.length;
        if (free <= 0) return; // a finishing job calls fill again
        const ack = await this.ask('job:request', { max: free });
        if (!ack) {
          // down: the next hello pumps again; up but unanswered (an overloaded coordinator): try later
          if (this.socket?.connected) this.schedulePump(2_000 + Math.random() * 2_000);
          return;
        }
        if (!ack.ok) {
          this.emit({ type: 'warning', message: `job:request refused: ${ack.reason}: ${ack.detail}` });
          await sleep(2_000);
          continue;
        }
        for (const job of ack.jobs) this.runJob(job);
        if (ack.jobs.length === 0) {
          const base = this.opts.idlePollMs ?? 5_000;
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, base * (0.75 + Math.random() / 2));
            this.wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          this.wake = null;
        }
      }
    } finally {
      this.filling = false;
    }
  }

  private runJob(job: Assignment): void {
    const executor = this.opts.executors[job.kind];
    const entry: Running = { job, abort: new AbortController() };
    this.running.set(job.leaseId, entry);
    this.emit({ type: 'job:start', job });
    entry.timer = setInterval(() => void this.heartbeat(entry), this.heartbeatMs);
    const run = executor
      ? executor.run(job, {
          signal: entry.abort.signal,
          progress: (p) => {
            entry.progress = p;
            this.emit({ type: 'job:progress', job, progress: p });
          },
        })
      : Promise.resolve<ExecutionOutcome>({ ok: false, reason: 'unsupported_kind', detail: `no executor for ${job.kind}`, transient: false });
    run
      .catch((err): ExecutionOutcome => ({ ok: false, reason: 'executor_crashed', detail: String((err as Error)?.stack ?? err).slice(0, 1500), transient: true }))
      .then((outcome) => {
        clearInterval(entry.timer);
        this.running.delete(job.leaseId);
        if (entry.abort.signal.aborted) return; // lost or handed back: nothing to upload
        this.outbox.push({ job, outcome: this.fitResult(outcome), attempts: 0 });
        void this.flush();
      });
  }

  private async heartbeat(entry: Running): Promise<void> {
    const ack = await this.ask('job:heartbeat', { leaseId: entry.job.leaseId, progress: entry.progress });
    if (ack && !ack.ok && ack.reason === 'lease_lost') {
      entry.abort.abort(new Error('lease lost'));
      clearInterval(entry.timer);
      this.running.delete(entry.job.leaseId);
      this.emit({ type: 'job:lost', job: entry.job, detail: ack.detail });
      this.schedulePump(0);
    }
  }

  /** Uploads finished jobs in order; a failed send stays queued until the next connection. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outbox.length > 0 && this.helloDone) {
        const up = this.outbox[0]!;
        up.attempts++;
        const ack = up.outcome.ok
          ? await this.ask('job:complete', { leaseId: up.job.leaseId, result: up.outcome.result })
          : await this.ask('job:fail', { leaseId: up.job.leaseId, reason: up.outcome.reason, detail: up.outcome.detail, transient: up.outcome.transient });
        if (!ack) {
          if (!this.socket?.connected) return; // resumes after the next hello
          await sleep(Math.min(1000 * up.attempts, 10_000));
          continue;
        }
        this.outbox.shift();
        if (ack.ok) {
          const duplicate = 'duplicate' in ack ? (ack.duplicate as boolean) : undefined;
          this.emit({ type: 'job:done', job: up.job, outcome: up.outcome, accepted: true, duplicate });
        } else {
          this.emit({ type: 'job:done', job: up.job, outcome: up.outcome, accepted: false, reason: `${ack.reason}: ${ack.detail}` });
        }
      }
    } finally {
      this.flushing = false;
      this.schedulePump(0);
    }
  }

  private abortAll(why: string): Assignment[] {
    const jobs: Assignment[] = [];
    for (const r of this.running.values()) {
      clearInterval(r.timer);
      r.abort.abort(new Error(why));
      jobs.push(r.job);
    }
    this.running.clear();
    return jobs;
  }

  /** Stops taking jobs; running ones are aborted and handed back (nothing is fetched while paused). */
  async pause(): Promise<void> {
    if (this.state !== 'ready' && this.state !== 'connecting') return;
    this.setState('paused');
    this.wake?.();
    const jobs = this.abortAll('paused');
    await Promise.all(jobs.map((j) => this.ask('job:release', { leaseId: j.leaseId })));
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.setState(this.helloDone ? 'ready' : 'connecting');
    this.schedulePump(0);
  }

  /**
   * Finishes: with `drain`, waits (up to drainMs) for running jobs to finish and upload; then hands back the
   * rest, says bye and closes.
   */
  async stop(opts: { drain?: boolean; drainMs?: number } = {}): Promise<void> {
    // A second stop while the first drains (the agent's second Ctrl-C) cuts the drain short and shares its end.
    if (this.stopping) {
      if (!opts.drain) this.cutDrain = true;
      return this.stopping;
    }
    if (!this.socket) return;
    this.stopping = this.stopNow(opts).finally(() => {
      this.stopping = null;
      this.cutDrain = false;
    });
    return this.stopping;
  }

  private async stopNow(opts: { drain?: boolean; drainMs?: number }): Promise<void> {
    if (!this.socket) return;
    const wasReady = this.state === 'ready';
    this.setState('stopping');
    this.wake?.();
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    if (opts.drain && wasReady) {
      const until = Date.now() + (opts.drainMs ?? 30_000);
      while ((this.running.size > 0 || this.outbox.length > 0) && Date.now() < until && this.socket.connected && !this.cutDrain) await sleep(100);
    }
    const jobs = this.abortAll('stopping');
    await Promise.all(jobs.map((j) => this.ask('job:release', { leaseId: j.leaseId })));
    await this.ask('bye', {});
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.socket.close();
    this.socket = null;
    this.setState('stopped');
  }
}
