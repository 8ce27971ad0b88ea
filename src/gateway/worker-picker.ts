import type { WorkerEndpoint } from './worker-endpoint.ts';

/**
 * Chooses the worker for the next attempt: a local worker when there is one (no network hop), otherwise the one with
 * the fewest calls in flight, ties broken by rotation so equal workers share the load. Workers already tried by this
 * call are avoided while others remain.
 */
export function pickWorker(
  endpoints: readonly WorkerEndpoint[],
  tried: ReadonlySet<string>,
  rotation: number,
): WorkerEndpoint | undefined {
  const fresh = endpoints.filter((e) => !tried.has(e.info.workerId));
  const pool = fresh.length > 0 ? fresh : endpoints;
  if (pool.length === 0) return undefined;
  const local = pool.filter((e) => e.info.local);
  const candidates = local.length > 0 ? local : pool;
  let best: WorkerEndpoint | undefined;
  const n = candidates.length;
  for (let i = 0; i < n; i++) {
    const e = candidates[(rotation + i) % n]!;
    if (best === undefined || e.inFlight < best.inFlight) best = e;
  }
  return best;
}
