// Concurrency and bandwidth limits of one fetcher: a global semaphore, one semaphore per host, and a
// token bucket for the agent's --bandwidth cap. Instances live in a fetcher, never at module level.

/** A counting semaphore with FIFO waiters. */
export class Semaphore {
  #free: number;
  #waiters: Array<() => void> = [];
  constructor(readonly size: number) {
    if (!(size >= 1)) throw new RangeError(`semaphore size ${size} < 1`);
    this.#free = size;
  }
  get inUse(): number {
    return this.size - this.#free;
  }
  get waiting(): number {
    return this.#waiters.length;
  }
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

/** One semaphore per key (host name), dropped again when idle so a long run does not accumulate hosts. */
export class KeyedSemaphore {
  #byKey = new Map<string, Semaphore>();
  constructor(readonly sizePerKey: number) {}
  async acquire(key: string): Promise<() => void> {
    let s = this.#byKey.get(key);
    if (!s) this.#byKey.set(key, (s = new Semaphore(this.sizePerKey)));
    const release = await s.acquire();
    return () => {
      release();
      if (s.inUse === 0 && s.waiting === 0 && this.#byKey.get(key) === s) this.#byKey.delete(key);
    };
  }
  inUse(key: string): number {
    return this.#byKey.get(key)?.inUse ?? 0;
  }
}

export interface Clock {
  nowMs(): number;
  sleepMs(ms: number): Promise<void>;
}
export const realClock: Clock = {
  nowMs: () => performance.now(),
  sleepMs: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Bytes-per-second cap shared by every download of a fetcher. Tokens refill continuously up to one
 * second's worth (the burst); a chunk larger than the tokens left drives the balance negative and its
 * reader waits until the debt is repaid, so the long-run rate stays at `bytesPerSecond`.
 */
export class TokenBucket {
  #tokens: number;
  #lastMs: number;
  constructor(
    readonly bytesPerSecond: number,
    readonly clock: Clock = realClock,
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond ${bytesPerSecond} <= 0`);
    this.#tokens = bytesPerSecond;
    this.#lastMs = clock.nowMs();
  }
  async take(bytes: number): Promise<void> {
    const now = this.clock.nowMs();
    this.#tokens = Math.min(this.bytesPerSecond, this.#tokens + ((now - this.#lastMs) / 1000) * this.bytesPerSecond);
    this.#lastMs = now;
    this.#tokens -= bytes;
    if (this.#tokens < 0) await this.clock.sleepMs((-this.#tokens / this.bytesPerSecond) * 1000);
  }
}

/**
 * Remembers hosts that keep failing (timeouts, refused connections, DNS errors, 429/5xx) so that the rest
 * of a job's URLs on a dead or throttling host end at once as `host-skipped` instead of each waiting out
 * its own timeout. Any answer that proves the host alive resets its count, and a host's record expires
 * `forgetAfterMs` after its last failure, so one long-lived agent gives a host another chance later.
 */
export class HostFailureMemory {
  #failures = new Map<string, { count: number; lastDetail: string; lastMs: number }>();
  constructor(
    readonly threshold: number,
    readonly forgetAfterMs: number = 10 * 60_000,
    readonly clock: Pick<Clock, 'nowMs'> = realClock,
  ) {}
  recordFailure(host: string, detail: string): void {
    const f = this.#live(host);
    this.#failures.set(host, { count: (f?.count ?? 0) + 1, lastDetail: detail, lastMs: this.clock.nowMs() });
  }
  recordSuccess(host: string): void {
    this.#failures.delete(host);
  }
  /** The reason to skip this host, or null. */
  skipReason(host: string): string | null {
    const f = this.#live(host);
    return f && f.count >= this.threshold ? `${f.count} failures on ${host}, last: ${f.lastDetail}` : null;
  }
  get size(): number {
    return this.#failures.size;
  }
  #live(host: string) {
    const f = this.#failures.get(host);
    if (f && this.clock.nowMs() - f.lastMs > this.forgetAfterMs) {
      this.#failures.delete(host);
      return undefined;
    }
    return f;
  }
}
