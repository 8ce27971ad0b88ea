/**
 * Helpers of the client tests: a real node with a client of it for a suite, and pulling a bounded number of deliveries
 * from a subscription within a time limit.
 */
import { after, before } from 'node:test';
import { GaterClient } from '../../src/client/index.ts';
import type { Delivery } from '../../src/store/subscriptions/types.ts';
import { createTestApi, type TestApi } from '../support/real-api.ts';

/**
 * Starts a real node and a client of it before the calling suite's tests, handing both to `use`, and closes them
 * after.
 */
export function withRealNodeClient(use: (node: TestApi, client: GaterClient) => void): void {
  let node: TestApi | undefined;
  let client: GaterClient | undefined;
  before(async () => {
    node = await createTestApi();
    client = new GaterClient({}, { url: node.url });
    use(node, client);
  });
  after(async () => {
    client?.close();
    await node?.close();
  });
}

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
