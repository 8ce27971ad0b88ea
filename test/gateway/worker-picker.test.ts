import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkerEndpoint } from '../../src/gateway/worker-endpoint.ts';
import { pickWorker } from '../../src/gateway/worker-picker.ts';
import { retryDelayMs } from '../../src/gateway/retry-policy.ts';

function endpoint(workerId: string, local: boolean, inFlight: number): WorkerEndpoint {
  return {
    info: { store: 's', workerId, nodeId: local ? 'me' : 'other', backend: 'sqlite', local },
    inFlight,
    call: () => Promise.resolve(null),
    open: () => Promise.reject(new Error('unused')),
  };
}

describe('pickWorker', () => {
  it('prefers a local worker even when it is busier', () => {
    const picked = pickWorker([endpoint('r', false, 0), endpoint('l', true, 9)], new Set(), 0);
    assert.equal(picked?.info.workerId, 'l');
  });

  it('takes the remote worker with the fewest calls in flight', () => {
    const picked = pickWorker([endpoint('a', false, 5), endpoint('b', false, 1), endpoint('c', false, 3)], new Set(), 0);
    assert.equal(picked?.info.workerId, 'b');
  });

  it('rotates between equally loaded workers', () => {
    const ws = [endpoint('a', false, 0), endpoint('b', false, 0), endpoint('c', false, 0)];
    const seen = new Set([0, 1, 2, 3, 4, 5].map((r) => pickWorker(ws, new Set(), r)?.info.workerId));
    assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
  });

  it('shares ties evenly among the workers that tie, whatever comes before them in the list', () => {
    const ws = [endpoint('r1', false, 0), endpoint('r2', false, 0), endpoint('r3', false, 0), endpoint('r4', false, 0), endpoint('l1', true, 0), endpoint('l2', true, 0)];
    const counts = new Map<string, number>();
    for (let r = 0; r < 600; r++) {
      const id = pickWorker(ws, undefined, r)!.info.workerId;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { l1: 300, l2: 300 });
    // A retry after a1 failed spreads over the untried workers alone, evenly.
    const retry = [endpoint('a1', false, 0), endpoint('a2', false, 0), endpoint('b1', false, 0), endpoint('b2', false, 0)];
    const picks = new Map<string, number>();
    for (let r = 0; r < 300; r++) {
      const id = pickWorker(retry, new Set(['a1']), r)!.info.workerId;
      picks.set(id, (picks.get(id) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(picks), { a2: 100, b1: 100, b2: 100 });
  });

  it('avoids workers already tried while others remain, then falls back to them', () => {
    const ws = [endpoint('l', true, 0), endpoint('r', false, 0)];
    assert.equal(pickWorker(ws, new Set(['l']), 0)?.info.workerId, 'r');
    assert.equal(pickWorker(ws, new Set(['l', 'r']), 0)?.info.workerId, 'l');
    assert.equal(pickWorker([], new Set(), 0), undefined);
  });
});

describe('retryDelayMs', () => {
  it('grows exponentially up to the cap, with full jitter below it', () => {
    assert.equal(retryDelayMs(1, () => 0.999, 25, 1000), 24);
    assert.equal(retryDelayMs(3, () => 0.999, 25, 1000), 99);
    assert.equal(retryDelayMs(20, () => 0.999, 25, 1000), 999);
    assert.equal(retryDelayMs(5, () => 0, 25, 1000), 0);
  });
});
