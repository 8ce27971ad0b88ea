/** A clock that moves only when the test says so. */
import type { Clock, Timer } from '../../../../src/store/subscriptions/clock.ts';

interface Scheduled {
  due: number;
  callback: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private time = 0;
  private scheduled: Scheduled[] = [];

  now(): number {
    return this.time;
  }

  schedule(delayMs: number, callback: () => void): Timer {
    const entry: Scheduled = { due: this.time + Math.max(0, delayMs), callback, cancelled: false };
    this.scheduled.push(entry);
    return { cancel: () => (entry.cancelled = true) };
  }

  /** Moves time forward, running every timer that falls due, in due order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const next = this.scheduled
        .filter((s) => !s.cancelled && s.due <= until)
        .sort((a, b) => a.due - b.due)[0];
      if (next === undefined) break;
      this.scheduled = this.scheduled.filter((s) => s !== next);
      this.time = next.due;
      next.callback();
    }
    this.time = until;
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.scheduled.filter((s) => !s.cancelled).length;
  }
}
