/**
 * A deadline on an answer from the network that a stall of this process cannot trip falsely. After a stall (a long
 * collection, a long synchronous task), expired timers run before sockets are read, so an answer that did arrive in
 * time may still wait unread when the timer fires. The deadline therefore looks again on the next turn, after the input
 * pending then is handled (setImmediate runs after the poll phase): only an answer still missing then has missed it.
 */
export interface InputDeadline {
  /** The answer came: `onMissed` will not run. Idempotent. */
  cancel(): void;
}

/** Runs `onMissed` when `ms` have passed and the input pending by then is handled, unless cancelled first. */
export function inputDeadline(ms: number, onMissed: () => void): InputDeadline {
  let cancelled = false;
  const timer = setTimeout(() => {
    setImmediate(() => {
      if (!cancelled) onMissed();
    });
  }, Math.max(0, ms));
  // A deadline never keeps the process alive by itself.
  timer.unref();
  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}
