/**
 * Racing work against a deadline, for endpoints that do not settle by one themselves. The work is not cancelled
 * (whoever started it owns that); its late outcome is ignored.
 */
import type { GaterError } from '../errors/index.ts';

/** Settles like `work`, or rejects with `timeout()` once `deadlineAt` (ms since the epoch) has passed first. */
export function raceDeadline<T>(work: Promise<T>, deadlineAt: number, timeout: () => GaterError, now: () => number = Date.now): Promise<T> {
  const remainingMs = deadlineAt - now();
  if (remainingMs <= 0) {
    work.catch(() => {});
    return Promise.reject(timeout());
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timeout()), remainingMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
