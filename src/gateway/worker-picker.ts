import type { WorkerEndpoint } from './worker-endpoint.ts';

/**
 * Chooses the worker for the next attempt: a local worker when there is one (no network hop), otherwise the one with
 * the fewest calls in flight, ties broken by rotation so equal workers share the load evenly. Workers already tried
 * by this call are avoided while others remain. Two passes, no allocation: it runs on every call.
 */
export function pickWorker(
  endpoints: readonly WorkerEndpoint[],
  tried: ReadonlySet<string> | undefined,
  rotation: number,
): WorkerEndpoint | undefined {
  // Pass 1: the best rank (untried before tried, then local before remote), its fewest calls in flight, and how
  // many workers share both.
  let bestRank = Infinity;
  let fewest = Infinity;
  let ties = 0;
  for (const e of endpoints) {
    const r = rank(e, tried);
    if (r < bestRank || (r === bestRank && e.inFlight < fewest)) {
      bestRank = r;
      fewest = e.inFlight;
      ties = 1;
    } else if (r === bestRank && e.inFlight === fewest) {
      ties++;
    }
  }
  if (ties === 0) return undefined;
  // Pass 2: the rotation picks among the tied workers only, so each gets its turn.
  let turn = rotation % ties;
  for (const e of endpoints) {
    if (rank(e, tried) !== bestRank || e.inFlight !== fewest) continue;
    if (turn-- === 0) return e;
  }
  return undefined;
}

function rank(e: WorkerEndpoint, tried: ReadonlySet<string> | undefined): number {
  return (tried?.has(e.info.workerId) === true ? 2 : 0) + (e.info.local ? 0 : 1);
}
