import { describe, expect, it } from 'vitest';
import { ByteBucket, HostSlots, limitAcrossJobs, throttled, type BucketClock } from '../../client/worker/limits.ts';
import type { UrlJobDeps } from '../../shared/jobs/urlJob.ts';

function fakeClock(): BucketClock & { t: number; slept: number[] } {
  const c = {
    t: 0,
    slept: [] as number[],
    nowMs: () => c.t,
    async sleepMs(ms: number) {
      c.slept.push(ms);
      c.t += ms;
    },
  };
  return c;
}

describe('per-host download slots', () => {
  it('lets 2 in per host, queues the third in order, and frees hosts when idle', async () => {
    const slots = new HostSlots(2);
    const a1 = await slots.acquire('a');
    const a2 = await slots.acquire('a');
    const b1 = await slots.acquire('b');
    expect(slots.inUse('a')).toBe(2);
    const order: string[] = [];
    const a3 = slots.acquire('a').then((r) => (order.push('a3'), r));
    const a4 = slots.acquire('a').then((r) => (order.push('a4'), r));
    await Promise.resolve();
    expect(order).toEqual([]);
    a1();
    a1(); // a second call is a no-op
    const r3 = await a3;
    expect(order).toEqual(['a3']);
    expect(slots.inUse('a')).toBe(2);
    a2();
    const r4 = await a4;
    expect(order).toEqual(['a3', 'a4']);
    r3();
    r4();
    b1();
    expect(slots.inUse('a')).toBe(0);
    expect(slots.inUse('b')).toBe(0);
  });

  it('a waiter whose job is aborted leaves the queue without taking a slot', async () => {
    const slots = new HostSlots(1);
    const held = await slots.acquire('h');
    const ac = new AbortController();
    const waiting = slots.acquire('h', ac.signal);
    const next = slots.acquire('h');
    ac.abort(new Error('paused'));
    await expect(waiting).rejects.toThrow('paused');
    held();
    const r = await next;
    expect(slots.inUse('h')).toBe(1);
    r();
    await expect(slots.acquire('h', AbortSignal.abort(new Error('already')))).resolves.toBeTypeOf('function');
  });
});

describe('bandwidth bucket', () => {
  it('lets one second of burst through, then paces to the rate', async () => {
    const clock = fakeClock();
    const bucket = new ByteBucket(1000, clock);
    await bucket.take(1000);
    expect(clock.slept).toEqual([]);
    await bucket.take(500);
    expect(clock.slept).toEqual([500]);
    clock.t += 2000; // idle: refills, but only up to one second's worth
    await bucket.take(1000);
    await bucket.take(1000);
    expect(clock.slept).toEqual([500, 1000]);
  });

  it('0 means no cap, and the rate can change while running', async () => {
    const clock = fakeClock();
    const bucket = new ByteBucket(0, clock);
    await bucket.take(1e9);
    expect(clock.slept).toEqual([]);
    bucket.setRate(100);
    await bucket.take(300);
    expect(clock.slept.length).toBe(1);
    expect(clock.slept[0]).toBeCloseTo(3000); // no tokens after a change from "no cap"
  });

  it('throttled() charges every chunk and passes the bytes through', async () => {
    const clock = fakeClock();
    const bucket = new ByteBucket(10, clock);
    async function* source() {
      yield new Uint8Array(10);
      yield new Uint8Array(20);
    }
    const seen: number[] = [];
    for await (const c of throttled(source(), bucket)) seen.push(c.byteLength);
    expect(seen).toEqual([10, 20]);
    expect(clock.slept).toEqual([2000]);
  });
});

describe('limitAcrossJobs', () => {
  it('holds all jobs of a tab together to the download setting, and a new setting applies to the next image', async () => {
    let inFlight = 0;
    let peak = 0;
    const slow: UrlJobDeps['prepare'] = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return { status: 'ok', httpStatus: 200, bytes: 1, width: 1, height: 1, sha256: null };
    };
    let slots = new HostSlots(3);
    const prepare = limitAcrossJobs(slow, () => slots);
    const out = new Float32Array(1);
    const sig = new AbortController().signal;
    const item = { id: 1, url: 'http://example.com/a.jpg', alt: 'x', language: 'en' };
    // two jobs, each with 4 lanes of 5 images
    const job = () => Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 5; i++) await prepare(item, out, 0, sig);
    }));
    await Promise.all([job(), job()]);
    expect(peak).toBe(3);
    slots = new HostSlots(1);
    peak = 0;
    await Promise.all([job(), job()]);
    expect(peak).toBe(1);
    // a job cancelled while waiting for a slot ends its images as aborted
    const abort = new AbortController();
    const hold = await slots.acquire('tab');
    const waiting = prepare(item, out, 0, abort.signal);
    abort.abort(new Error('stop'));
    expect(await waiting).toMatchObject({ status: 'aborted' });
    hold();
  });
});
