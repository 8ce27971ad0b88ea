/** Two small coordination tools for the subscription engine's pull loops. */

/**
 * A broadcast wake-up. `wait()` returns a promise that the next `notify()` resolves. Take the promise *before* checking
 * the condition it guards, so a notification that lands between the check and the wait is not lost.
 */
export class Signal {
  private waiter: PromiseWithResolvers<void> | undefined;

  wait(): Promise<void> {
    this.waiter ??= Promise.withResolvers<void>();
    return this.waiter.promise;
  }

  notify(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }
}

/** Runs async sections one at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
