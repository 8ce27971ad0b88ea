/**
 * A closed-loop load: a fixed number of calls in flight, each completion starting the next, for a fixed time after a
 * warm-up. Every phase of the relay benchmark (and its peer processes) drives its calls with this, so that the
 * figures compare like with like: throughput, and the latency of each call from its start to its answer.
 */
import { sleep } from './output.ts';
import { summarizeLatencies, type LatencySummary } from './stats.ts';

export interface LoadOptions {
  /** Calls in flight at every moment. */
  inFlight: number;
  /** Length of the measured window. */
  seconds: number;
  /** Calls run before the window opens (JIT, connection set-up, caches). @default 500 */
  warmupMs?: number;
  /** At most this many calls are measured; the window closes early past it. @default 2,000,000 */
  maxCalls?: number;
}

export interface LoadResult extends LatencySummary {
  calls: number;
  seconds: number;
  callsPerSec: number;
  errors: number;
  firstError?: string;
}

const YIELD_EVERY_CALLS = 1_000;

/** Runs `call(i)` (i counts every call started) `inFlight` at a time; failed calls are counted, not retried. */
export async function closedLoop(call: (i: number) => Promise<unknown>, options: LoadOptions): Promise<LoadResult> {
  const maxCalls = options.maxCalls ?? 2_000_000;
  const latencies = new Float64Array(maxCalls);
  let measured = 0;
  let errors = 0;
  let firstError: string | undefined;
  let started = 0;
  let windowOpen = false;
  let windowStart = 0;
  let windowEnd = 0;
  let stopping = false;

  const worker = async (): Promise<void> => {
    while (!stopping) {
      const i = started++;
      // A call that completes without I/O (an in-process read of a synchronous store) resolves in microtasks only;
      // yield to the event loop now and then so that timers, and the window's end, still run.
      if (i % YIELD_EVERY_CALLS === 0) await new Promise((resolve) => setImmediate(resolve));
      const t0 = performance.now();
      const counted = windowOpen;
      try {
        await call(i);
        if (counted && windowOpen && measured < maxCalls) latencies[measured++] = performance.now() - t0;
      } catch (err) {
        if (counted && windowOpen) {
          errors++;
          firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        }
      }
      if (measured >= maxCalls && windowOpen) {
        windowOpen = false;
        windowEnd = performance.now();
        stopping = true;
      }
    }
  };
  const workers = Array.from({ length: options.inFlight }, worker);
  await sleep(options.warmupMs ?? 500);
  gc();
  windowStart = performance.now();
  windowOpen = true;
  const deadline = windowStart + options.seconds * 1000;
  while (windowOpen && performance.now() < deadline) await sleep(Math.min(20, deadline - performance.now()));
  if (windowOpen) {
    windowOpen = false;
    windowEnd = performance.now();
  }
  stopping = true;
  await Promise.all(workers);
  const seconds = (windowEnd - windowStart) / 1000;
  return {
    calls: measured,
    seconds: Math.round(seconds * 100) / 100,
    callsPerSec: Math.round(measured / seconds),
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    ...summarizeLatencies(Array.from(latencies.subarray(0, measured))),
  };
}

/** Collects garbage when node runs with --expose-gc, so that set-up garbage is not collected inside a window. */
function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
