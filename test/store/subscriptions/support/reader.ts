/**
 * Reads a subscription with deadlines, without losing a delivery to a timed-out `next()`: the pending call is kept
 * and answered by the following read. Every wait in the tests is bounded by this.
 */
import type { Delivery, EventSubscription } from '../../../../src/store/subscriptions/types.ts';

export const WAIT_MS = 10_000;

export class Reader {
  private readonly iterator: AsyncIterator<Delivery>;
  private pending: Promise<IteratorResult<Delivery>> | undefined;

  constructor(subscription: EventSubscription) {
    this.iterator = subscription[Symbol.asyncIterator]();
  }

  /** The next delivery; `undefined` when the subscription ended; throws after `timeoutMs`. */
  async next(timeoutMs = WAIT_MS): Promise<Delivery | undefined> {
    const result = await this.within(timeoutMs);
    if (result === 'timeout') throw new Error(`no delivery within ${timeoutMs} ms`);
    return result.done ? undefined : result.value;
  }

  /** Exactly `n` deliveries. */
  async take(n: number, timeoutMs = WAIT_MS): Promise<Delivery[]> {
    const out: Delivery[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) {
      const d = await this.next(Math.max(1, deadline - Date.now()));
      if (d === undefined) throw new Error(`subscription ended after ${out.length} of ${n} deliveries`);
      out.push(d);
    }
    return out;
  }

  /** Whether nothing is delivered within `ms` (the delivery, if one comes later, is kept for the next read). */
  async quietFor(ms: number): Promise<boolean> {
    return (await this.within(ms)) === 'timeout';
  }

  /** Whether the iteration ends within `timeoutMs`. */
  async ends(timeoutMs = WAIT_MS): Promise<boolean> {
    const result = await this.within(timeoutMs);
    return result !== 'timeout' && result.done === true;
  }

  private async within(ms: number): Promise<IteratorResult<Delivery> | 'timeout'> {
    const pending = (this.pending ??= this.iterator.next());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    });
    try {
      const result = await Promise.race([pending, timeout]);
      if (result !== 'timeout') this.pending = undefined;
      return result;
    } catch (err) {
      this.pending = undefined;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

export const positionsOf = (deliveries: readonly Delivery[]): number[] => deliveries.map((d) => d.event.position);

/** Retries `check` until it passes or `timeoutMs` runs out (then rethrows its last failure). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
