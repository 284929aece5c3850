// Politeness and "how much to use" limits of one worker: a per-host semaphore (2 downloads per host at most,
// as the agent) and a token bucket for the volunteer's bandwidth cap. Instances live in the worker's state,
// never at module level. (The agent has its own in server/fetch/limits.ts, which may use Node clocks.)

/** One counting semaphore per key (host), dropped when idle. */
export class HostSlots {
  #used = new Map<string, number>();
  #waiters = new Map<string, Array<() => void>>();
  constructor(readonly perHost: number) {
    if (!(perHost >= 1)) throw new RangeError(`perHost ${perHost} < 1`);
  }
  inUse(host: string): number {
    return this.#used.get(host) ?? 0;
  }
  /** Resolves with a release function once a slot is free; rejects if `signal` aborts while waiting. */
  acquire(host: string, signal?: AbortSignal): Promise<() => void> {
    const grant = (): (() => void) => {
      this.#used.set(host, this.inUse(host) + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const queue = this.#waiters.get(host);
        const next = queue?.shift();
        if (queue && queue.length === 0) this.#waiters.delete(host);
        const n = this.inUse(host) - 1;
        if (n === 0) this.#used.delete(host);
        else this.#used.set(host, n);
        next?.();
      };
    };
    if (this.inUse(host) < this.perHost) return Promise.resolve(grant());
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(grant());
      };
      const onAbort = () => {
        const q = this.#waiters.get(host);
        const i = q?.indexOf(wake) ?? -1;
        if (q && i >= 0) q.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const q = this.#waiters.get(host) ?? [];
      q.push(wake);
      this.#waiters.set(host, q);
    });
  }
}

export interface BucketClock {
  nowMs(): number;
  sleepMs(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realBucketClock: BucketClock = {
  nowMs: () => performance.now(),
  sleepMs: (ms, signal) =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    }),
};

/**
 * Bytes-per-second cap shared by every download of the tab. Up to one second's worth may burst; a chunk that
 * takes more than is left puts the balance in debt and the reader waits until it is repaid, so the long-run
 * rate is `bytesPerSecond`. The rate can change while running (the volunteer moves the slider).
 */
export class ByteBucket {
  #tokens: number;
  #lastMs: number;
  constructor(
    public bytesPerSecond: number,
    readonly clock: BucketClock = realBucketClock,
  ) {
    this.#tokens = bytesPerSecond;
    this.#lastMs = clock.nowMs();
  }
  /** 0 or less means no cap. */
  setRate(bytesPerSecond: number): void {
    this.bytesPerSecond = bytesPerSecond;
    this.#tokens = Math.min(this.#tokens, Math.max(0, bytesPerSecond));
  }
  /** Milliseconds the caller must wait after taking `bytes` (0 when under the cap). Pure bookkeeping. */
  charge(bytes: number): number {
    if (!(this.bytesPerSecond > 0)) return 0;
    const now = this.clock.nowMs();
    this.#tokens = Math.min(this.bytesPerSecond, this.#tokens + ((now - this.#lastMs) / 1000) * this.bytesPerSecond);
    this.#lastMs = now;
    this.#tokens -= bytes;
    return this.#tokens < 0 ? (-this.#tokens / this.bytesPerSecond) * 1000 : 0;
  }
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const waitMs = this.charge(bytes);
    if (waitMs > 0) await this.clock.sleepMs(waitMs, signal);
  }
}

/** Passes chunks through, charging each to the bucket (the reader slows down, so the download does too). */
export async function* throttled(chunks: AsyncIterable<Uint8Array>, bucket: ByteBucket | null, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    if (bucket) await bucket.take(chunk.byteLength, signal);
    yield chunk;
  }
}

