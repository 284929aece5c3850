import { describe, expect, it } from 'vitest';
import { ByteBucket, HostSlots, throttled, type BucketClock } from '../../client/worker/limits.ts';

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

