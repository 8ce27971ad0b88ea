import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { membershipOf } from '../../src/registry/membership.ts';
import { mergeRecords, mergeStates, type NodeRecord } from '../../src/registry/node-record.ts';
import { WorkerRegistry } from '../../src/registry/worker-registry.ts';

const nodeIds = ['n1', 'n2', 'n3', 'n4'];

const recordArb: fc.Arbitrary<NodeRecord> = fc
  .record({
    nodeId: fc.constantFrom(...nodeIds),
    incarnation: fc.integer({ min: 0, max: 3 }),
    version: fc.integer({ min: 0, max: 3 }),
    stores: fc.uniqueArray(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }),
  })
  .map(({ nodeId, incarnation, version, stores }) => ({
    nodeId,
    incarnation,
    version,
    entries: stores.map((store) => ({
      store,
      workerId: `${store}@${nodeId}#0`,
      nodeId,
      addrs: [],
      backend: 'sqlite' as const,
      startedAt: '2026-01-01T00:00:00.000Z',
    })),
  }));

function stateOf(records: NodeRecord[]): Map<string, NodeRecord> {
  let state = new Map<string, NodeRecord>();
  for (const r of records) state = mergeStates(state, new Map([[r.nodeId, r]]));
  return state;
}

const canonical = (s: ReadonlyMap<string, NodeRecord>) => JSON.stringify([...s.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));

describe('registry merge', () => {
  it('record merge is commutative, associative and idempotent', () => {
    const sameNode = fc.tuple(recordArb, recordArb, recordArb).map(([a, b, c]) => [a, { ...b, nodeId: a.nodeId }, { ...c, nodeId: a.nodeId }] as const);
    fc.assert(
      fc.property(sameNode, ([a, b, c]) => {
        assert.deepEqual(mergeRecords(a, b), mergeRecords(b, a));
        assert.deepEqual(mergeRecords(mergeRecords(a, b), c), mergeRecords(a, mergeRecords(b, c)));
        assert.deepEqual(mergeRecords(a, a), a);
      }),
      { numRuns: 2000 },
    );
  });

  it('state merge is commutative, associative and idempotent', () => {
    const stateArb = fc.array(recordArb, { maxLength: 8 }).map(stateOf);
    fc.assert(
      fc.property(stateArb, stateArb, stateArb, (a, b, c) => {
        assert.equal(canonical(mergeStates(a, b)), canonical(mergeStates(b, a)));
        assert.equal(canonical(mergeStates(mergeStates(a, b), c)), canonical(mergeStates(a, mergeStates(b, c))));
        assert.equal(canonical(mergeStates(a, a)), canonical(a));
      }),
      { numRuns: 1000 },
    );
  });

  it('replicas that receive the same records in any order, with duplicates, converge', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 12 }), fc.integer(), (records, seed) => {
        const shuffled = fc.sample(fc.shuffledSubarray(records, { minLength: records.length }), { numRuns: 1, seed })[0]!;
        const replicaA = new WorkerRegistry({}, { nodeId: 'self' });
        const replicaB = new WorkerRegistry({}, { nodeId: 'self' });
        for (const r of records) replicaA.apply(r);
        for (const r of [...shuffled, ...shuffled]) replicaB.apply(r);
        assert.deepEqual(replicaA.allRecords().sort(byNode), replicaB.allRecords().sort(byNode));
        assert.deepEqual(replicaA.entries(), replicaB.entries());
      }),
      { numRuns: 500 },
    );
  });

  it('the newest stamp wins: a restarted node replaces its old workers', () => {
    const reg = new WorkerRegistry({}, { nodeId: 'self' });
    const old: NodeRecord = { nodeId: 'n1', incarnation: 1, version: 5, entries: [entry('a', 'n1')] };
    const restarted: NodeRecord = { nodeId: 'n1', incarnation: 2, version: 0, entries: [entry('b', 'n1')] };
    reg.apply(restarted);
    assert.equal(reg.apply(old), false, 'an older incarnation never overwrites a newer one');
    assert.deepEqual([...reg.stores().keys()], ['b']);
  });
});

describe('WorkerRegistry', () => {
  it('a purged node stays purged until a newer incarnation appears', () => {
    const reg = new WorkerRegistry({}, { nodeId: 'self' });
    const r1: NodeRecord = { nodeId: 'n1', incarnation: 1, version: 1, entries: [entry('a', 'n1')] };
    reg.apply(r1);
    assert.equal(reg.workersFor('a').length, 1);
    assert.equal(reg.purgeNode('n1'), true);
    assert.equal(reg.workersFor('a').length, 0);
    assert.equal(reg.apply({ ...r1, version: 2 }), false, 'a late copy from a peer that has not noticed yet is refused');
    assert.equal(reg.workersFor('a').length, 0);
    assert.equal(reg.apply({ ...r1, incarnation: 2, version: 0 }), true, 'the restarted node is accepted');
    assert.equal(reg.workersFor('a').length, 1);
  });

  it('forgets a purge once it is older than the age given, and only then', () => {
    let now = 0;
    const reg = new WorkerRegistry({ now: () => now }, { nodeId: 'self' });
    const r1: NodeRecord = { nodeId: 'n1', incarnation: 1, version: 1, entries: [entry('a', 'n1')] };
    reg.apply(r1);
    reg.purgeNode('n1', 1);
    now = 10;
    reg.purgeNode('n2', 4);
    now = 1_000;
    assert.equal(reg.expirePurges(1_001), 0, 'n1 is 1000 ms old, n2 990');
    assert.equal(reg.expirePurges(995), 1);
    assert.equal(reg.purgedCount(), 1, 'the later purge stays');
    assert.equal(reg.apply({ ...r1, version: 2 }), true, 'a copy after the purge was forgotten is no longer refused here');
  });

  it('a purged node that turns out to be alive (a healed partition) is readmitted at the same incarnation', () => {
    const reg = new WorkerRegistry({}, { nodeId: 'self' });
    const r1: NodeRecord = { nodeId: 'n1', incarnation: 1, version: 1, entries: [entry('a', 'n1')] };
    reg.apply(r1);
    reg.purgeNode('n1', 1);
    assert.equal(reg.apply(r1), false);
    reg.readmit('n1');
    assert.equal(reg.apply(r1), true);
    assert.equal(reg.workersFor('a').length, 1);
  });

  it('reports an embedded store announced by two nodes as a conflict, and keeps both visible', () => {
    const reg = new WorkerRegistry({}, { nodeId: 'self' });
    reg.registerLocal({ store: 'orders', workerId: 'orders@self#0', addrs: [], backend: 'sqlite', startedAt: 't' });
    assert.deepEqual(reg.conflicts(), []);
    reg.apply({ nodeId: 'n1', incarnation: 1, version: 1, entries: [entry('orders', 'n1')] });
    assert.deepEqual(reg.conflicts(), [{ store: 'orders', nodeIds: ['n1', 'self'] }]);
    assert.equal(reg.workersFor('orders').length, 2);
    reg.purgeNode('n1');
    assert.deepEqual(reg.conflicts(), []);
  });

  it('postgres stores on several nodes are not a conflict', () => {
    const reg = new WorkerRegistry({}, { nodeId: 'self' });
    reg.registerLocal({ store: 'shared', workerId: 'shared@self#0', addrs: [], backend: 'postgres', startedAt: 't' });
    reg.apply({ nodeId: 'n1', incarnation: 1, version: 1, entries: [{ ...entry('shared', 'n1'), backend: 'postgres' }] });
    assert.deepEqual(reg.conflicts(), []);
  });

  it('an embedded store also announced with another backend is a conflict of every claimant', () => {
    const reg = new WorkerRegistry({}, { nodeId: 'self' });
    reg.registerLocal({ store: 'orders', workerId: 'orders@self#0', addrs: [], backend: 'sqlite', startedAt: 't' });
    for (const n of ['n1', 'n2']) reg.apply({ nodeId: n, incarnation: 1, version: 1, entries: [{ ...entry('orders', n), backend: 'postgres' }] });
    assert.deepEqual(reg.conflicts(), [{ store: 'orders', nodeIds: ['n1', 'n2', 'self'] }]);
    reg.unregisterLocal('orders@self#0');
    assert.deepEqual(reg.conflicts(), [], 'postgres alone is one shared store');
  });

  it('local changes bump the version and are announced', () => {
    const reg = new WorkerRegistry({}, { nodeId: 'self', incarnation: 7 });
    const seen: number[] = [];
    reg.onLocalChange((r) => seen.push(r.version));
    reg.registerLocal({ store: 'a', workerId: 'w1', addrs: [], backend: 'sqlite', startedAt: 't' });
    reg.unregisterLocal('w1');
    reg.unregisterLocal('w1');
    assert.deepEqual(seen, [1, 2]);
    assert.equal(reg.localRecord().incarnation, 7);
  });

  it('digests tell who is behind', () => {
    const a = new WorkerRegistry({}, { nodeId: 'a' });
    const b = new WorkerRegistry({}, { nodeId: 'b' });
    a.registerLocal({ store: 's', workerId: 'w', addrs: [], backend: 'sqlite', startedAt: 't' });
    assert.equal(b.behind(a.digest()), true);
    for (const r of a.newerThan(b.digest())) b.apply(r);
    assert.equal(b.behind(a.digest()), false);
    assert.deepEqual(b.workersFor('s').map((e) => e.nodeId), ['a']);
  });
});

describe('membershipOf', () => {
  it('believes a record only at the incarnation discovery reports live', () => {
    const cases: [number, number | undefined, string][] = [
      [1, undefined, 'unconfirmed'],
      [1, 1, 'confirmed'],
      [2, 1, 'unconfirmed'],
      [1, 2, 'stale'],
    ];
    for (const [incarnation, live, verdict] of cases) assert.equal(membershipOf({ incarnation }, live), verdict, `${incarnation} vs ${live}`);
  });
});

function entry(store: string, nodeId: string) {
  return { store, workerId: `${store}@${nodeId}#0`, nodeId, addrs: [], backend: 'sqlite' as const, startedAt: 't' };
}

function byNode(a: NodeRecord, b: NodeRecord): number {
  return a.nodeId < b.nodeId ? -1 : 1;
}
