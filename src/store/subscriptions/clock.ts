/**
 * Time as the subscription engine sees it, injected so that redelivery timing can be tested with a manual clock.
 * The real clock unrefs its timers: a pending ack timeout never keeps the process alive.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since an arbitrary origin; only differences matter. */
  now(): number;
  /** Runs `callback` once after `delayMs` milliseconds, unless cancelled. */
  schedule(delayMs: number, callback: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  schedule(delayMs, callback) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
