import type { Clock } from '../../server/deps.ts';

/** A clock tests move by hand, so lease expiry is tested without sleeping. It starts at the real time
 * because rows inserted without an explicit time take the database's now(). */
export class FakeClock implements Clock {
  private t: number;
  constructor(start = Date.now()) {
    this.t = start;
  }
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
