/**
 * Small coordination tools for the subscription engine's pull loops. A pull loop waits for the first of several
 * wake-ups (a change, a commit, the end of the subscription), many times over a long life. Racing promises would leave
 * a reaction on every long-lived promise that did not win, for as long as that promise lives: memory that grows with
 * every wait. Here a wait listens, and stops listening to everything once it is woken.
 */

/** Stops listening for a wake-up. */
export type Unlisten = () => void;

/** Calls `wake` once when the awaited thing happens (at once when it already has); returns how to stop listening. */
export type Listen = (wake: () => void) => Unlisten;

/**
 * A broadcast wake-up: each listener runs once, at the next `notify()`. Listen *before* checking the condition it
 * guards, so a notification that lands between the check and the wait is not lost.
 */
export class Signal {
  private readonly listeners = new Set<() => void>();

  readonly listen: Listen = (wake) => {
    this.listeners.add(wake);
    return () => {
      this.listeners.delete(wake);
    };
  };

  notify(): void {
    if (this.listeners.size === 0) return;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const wake of listeners) wake();
  }
}

/** One wait for the first of several wake-ups; once woken (or cancelled) it listens to none of them any more. */
export class Wait {
  readonly promise: Promise<void>;
  private readonly resolve: () => void;
  private readonly unlisteners: Unlisten[] = [];
  private done = false;

  constructor() {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.promise = promise;
    this.resolve = resolve;
  }

  /** Adds a wake-up. One that has already happened wakes the wait at once. */
  on(listen: Listen): this {
    if (this.done) return this;
    const unlisten = listen(this.wake);
    if (this.done) unlisten();
    else this.unlisteners.push(unlisten);
    return this;
  }

  /** Stops listening without waking (the waiter found what it wanted). */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.unlistenAll();
  }

  private readonly wake = (): void => {
    if (this.done) return;
    this.done = true;
    this.unlistenAll();
    this.resolve();
  };

  private unlistenAll(): void {
    for (const unlisten of this.unlisteners) unlisten();
    this.unlisteners.length = 0;
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
