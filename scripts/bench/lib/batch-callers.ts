/**
 * The workload of the store benchmark's concurrent batched phases, shared by the benchmark and the writer node it
 * runs in a child process (pg-writer-node.ts), so that both run exactly the same shape: each caller appends its own
 * batches of readings in order to its own stream, each with the expected version its previous append returned.
 */
import type { EventStore } from '../../../src/store/event-store.ts';
import type { NewEvent } from '../../../src/store/types.ts';
import { readingEvent } from './bench-events.ts';

/**
 * `perCaller` batches of `batchSize` readings for each caller index in `callers`, with event ids; caller c's readings
 * are numbered from c * perCaller * batchSize, so that callers with distinct indices never share a reading.
 */
export function callerBatches(callers: readonly number[], perCaller: number, batchSize: number): NewEvent[][][] {
  return callers.map((c) =>
    Array.from({ length: perCaller }, (_, k) =>
      Array.from({ length: batchSize }, (_, i) => readingEvent((c * perCaller + k) * batchSize + i, true)),
    ),
  );
}

/**
 * Caller `callers[j]` appends `batches[j]` one batch at a time to stream `${prefix}-${callers[j]}`, all callers at
 * once, each stopping at `deadline` (a `performance.now()` time); returns the events appended.
 */
export async function appendFromCallers(
  store: EventStore,
  prefix: string,
  callers: readonly number[],
  batches: readonly (readonly (readonly NewEvent[])[])[],
  deadline: number,
): Promise<number> {
  let events = 0;
  await Promise.all(
    callers.map(async (c, j) => {
      const mine = batches[j]!;
      let version = -1;
      for (let k = 0; k < mine.length && performance.now() < deadline; k++) {
        version = (await store.append(`${prefix}-${c}`, mine[k]!, { expectedVersion: version })).version;
        events += mine[k]!.length;
      }
    }),
  );
  return events;
}
