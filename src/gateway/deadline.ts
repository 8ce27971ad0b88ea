/**
 * Racing work against a deadline, for endpoints that do not settle by one themselves. The work is not cancelled
 * (whoever started it owns that); its late outcome is ignored.
 */
import type { GaterError } from '../errors/index.ts';

/**
 * Settles like `work`, or rejects with `timeout()` once `deadlineAt` (ms since the epoch) has passed first. A value
 * the work produces after that goes to `discard` (a subscription opened too late must be closed by someone).
 */
export function raceDeadline<T>(
  work: Promise<T>,
  deadlineAt: number,
  timeout: () => GaterError,
  now: () => number = Date.now,
  discard?: (late: T) => void,
): Promise<T> {
  const remainingMs = deadlineAt - now();
  if (remainingMs <= 0) {
    work.then(discard, () => {});
    return Promise.reject(timeout());
  }
  let timedOut = false;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      reject(timeout());
    }, remainingMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        if (timedOut) discard?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
