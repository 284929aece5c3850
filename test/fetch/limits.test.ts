import { describe, expect, it } from 'vitest';
import { HostFailureMemory, KeyedSemaphore, Semaphore, TokenBucket, type Clock } from '../../server/fetch/limits.ts';

function fakeClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    nowMs: () => now,
    sleepMs: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe('Semaphore', () => {
  it('admits at most size holders, FIFO', async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    const r1 = await s.acquire();
    const r2 = await s.acquire();
    const p3 = s.acquire().then((r) => (order.push(3), r));
    const p4 = s.acquire().then((r) => (order.push(4), r));
    expect(s.inUse).toBe(2);
    expect(s.waiting).toBe(2);
    r1();
    r1(); // a second release is a no-op
    const r3 = await p3;
    expect(order).toEqual([3]);
    r2();
    (await p4)();
    r3();
    expect(s.inUse).toBe(0);
  });
  it('keyed: per-key limits, idle keys dropped', async () => {
    const k = new KeyedSemaphore(1);
    const a = await k.acquire('a');
    const b = await k.acquire('b');
    let got = false;
    const a2 = k.acquire('a').then((r) => ((got = true), r));
    await Promise.resolve();
    expect(got).toBe(false);
    a();
    (await a2)();
    b();
    expect(k.inUse('a')).toBe(0);
  });
});

describe('TokenBucket', () => {
  it('holds the long-run rate: 10 x 100 KB at 200 KB/s waits 4 s after the 1 s burst', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(200_000, clock);
    for (let i = 0; i < 10; i++) await bucket.take(100_000);
    const total = clock.slept.reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(4000, 6);
  });
});

describe('HostFailureMemory', () => {
  it('skips a host after threshold failures until it answers again', () => {
    const m = new HostFailureMemory(2);
    m.recordFailure('a', 'timeout');
    expect(m.skipReason('a')).toBeNull();
    m.recordFailure('a', 'connect-error: ECONNREFUSED');
    expect(m.skipReason('a')).toContain('2 failures on a');
    expect(m.skipReason('b')).toBeNull();
    m.recordSuccess('a');
    expect(m.skipReason('a')).toBeNull();
  });
  it('forgets a host some time after its last failure', async () => {
    const clock = fakeClock();
    const m = new HostFailureMemory(1, 60_000, clock);
    m.recordFailure('a', 'timeout');
    expect(m.skipReason('a')).not.toBeNull();
    await clock.sleepMs(59_000);
    expect(m.skipReason('a')).not.toBeNull();
    await clock.sleepMs(2_000);
    expect(m.skipReason('a')).toBeNull();
    expect(m.size).toBe(0);
  });
});
