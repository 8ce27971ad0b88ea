/**
 * The second writer node of the store benchmark's two-writer-nodes phase: a process of its own (its own thread, its
 * own event loop, its own connections and group commit, as a second gater node would be) that opens a
 * PostgresEventStore on the parent's store (the same store id on the same database, so the same schema) and appends
 * from its callers with the same workload shape as the parent's (batch-callers.ts).
 *
 * Protocol with the parent, one line each way at a time: the parent writes the WriterNodeConfig as one JSON line;
 * the node opens the store, builds its batches, warms up, and prints `{"ready":true}`; the parent writes `go`; the
 * node runs its callers until they are done or `maxSeconds` after `go`, prints `{"events","seconds"}`, closes the
 * store and exits. If its stdin closes before that (the parent is gone), it exits at once.
 *
 *   node --expose-gc scripts/bench/lib/pg-writer-node.ts   (spawned by scripts/bench/store.ts)
 */
import { createInterface } from 'node:readline';
import { PostgresEventStore, type PostgresEventStoreInit } from '../../../src/store/postgres/index.ts';
import { appendFromCallers, callerBatches } from './batch-callers.ts';

export interface WriterNodeConfig {
  /** The store to open: the parent's store id and url (and any option the parent's store was opened with). */
  store: PostgresEventStoreInit;
  /** This node's caller indices; caller c appends to stream `nodes-c`, so they must differ from the parent's. */
  callers: number[];
  batchesPerCaller: number;
  batchSize: number;
  /** Seconds after `go` at which the callers stop, done or not. */
  maxSeconds: number;
}

export interface WriterNodeResult {
  events: number;
  seconds: number;
}

/**
 * Batches each caller appends before reporting ready: the parent has been running these code paths for the whole
 * benchmark, and a second node in service would have too, so the measured window should not hold this one's JIT
 * warm-up and connection set-up.
 */
const WARMUP_BATCHES_PER_CALLER = 5;

let finished = false;
const input = createInterface({ input: process.stdin });
input.once('close', () => {
  if (!finished) process.exit(1);
});
const lines = input[Symbol.asyncIterator]();

const config = JSON.parse(await nextLine()) as WriterNodeConfig;
const store = new PostgresEventStore({}, { applicationName: 'gater:bench-writer-node', ...config.store });
await store.open();
const { callers, batchesPerCaller, batchSize } = config;
await appendFromCallers(store, 'warmup', callers, callerBatches(callers, WARMUP_BATCHES_PER_CALLER, batchSize), Infinity);
const batches = callerBatches(callers, batchesPerCaller, batchSize);
// Built data promoted out of the young generation now, not by scavenges inside the window (run with --expose-gc).
(globalThis as { gc?: () => void }).gc?.();
console.log(JSON.stringify({ ready: true }));

const go = await nextLine();
if (go !== 'go') throw new Error(`expected 'go', got '${go}'`);
const started = performance.now();
const events = await appendFromCallers(store, 'nodes', callers, batches, started + config.maxSeconds * 1000);
const result: WriterNodeResult = { events, seconds: (performance.now() - started) / 1000 };
console.log(JSON.stringify(result));
finished = true;
await store.close();
input.close();

async function nextLine(): Promise<string> {
  const line = await lines.next();
  if (line.done === true) process.exit(1);
  return String(line.value).trim();
}
