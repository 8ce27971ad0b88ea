/** Helpers of the client tests: pull a bounded number of deliveries from a subscription, within a time limit. */
import type { Delivery } from '../../src/store/subscriptions/types.ts';

/** Pulls `count` deliveries, failing after `timeoutMs`; `each` runs on every delivery before the next pull. */
export async function take(
  iterable: AsyncIterable<Delivery>,
  count: number,
  timeoutMs = 15_000,
  each?: (delivery: Delivery) => Promise<void> | void,
): Promise<Delivery[]> {
  const got: Delivery[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} deliveries within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    while (got.length < count) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done === true) throw new Error(`the subscription ended after ${got.length} of ${count} deliveries`);
      got.push(next.value);
      await each?.(next.value);
    }
    return got;
  } finally {
    clearTimeout(timer);
  }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
