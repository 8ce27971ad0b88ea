import type { WorkerEndpoint } from './worker-endpoint.ts';

/**
 * Chooses the worker for the next attempt: a local worker when there is one (no network hop), otherwise the one with
 * the fewest calls in flight, ties broken by rotation so equal workers share the load. Workers already tried by this
 * call are avoided while others remain. One pass, no allocation: it runs on every call.
 */
export function pickWorker(
  endpoints: readonly WorkerEndpoint[],
  tried: ReadonlySet<string> | undefined,
  rotation: number,
): WorkerEndpoint | undefined {
  const n = endpoints.length;
  let best: WorkerEndpoint | undefined;
  let bestRank = 0;
  for (let i = 0; i < n; i++) {
    const e = endpoints[(rotation + i) % n]!;
    // Untried before tried, then local before remote.
    const rank = (tried?.has(e.info.workerId) === true ? 2 : 0) + (e.info.local ? 0 : 1);
    if (best === undefined || rank < bestRank || (rank === bestRank && e.inFlight < best.inFlight)) {
      best = e;
      bestRank = rank;
    }
  }
  return best;
}
