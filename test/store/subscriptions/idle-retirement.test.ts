/**
 * Persistent subscriptions left without a session are retired after `idleLeaseReleaseMs` (manual clock): their lease
 * is given up, so another node can deliver them, unless a session comes back in time. Two hubs on one SQLite store,
 * with an in-memory lease table, play two nodes; a plain SQLite store (no leases) must behave as before.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { EventStore, SubscriptionLease } from '../../../src/store/event-store.ts';
import type { SqliteEventStore } from '../../../src/store/sqlite/index.ts';
import { SubscriptionHub } from '../../../src/store/subscriptions/index.ts';
import { ManualClock } from './support/manual-clock.ts';
import { Reader, eventually, positionsOf } from './support/reader.ts';
import { makeTempDir, newEvents, openStore, removeDir } from './support/sqlite.ts';

const GRACE_MS = 1_000;

/** Leases as PostgreSQL's advisory locks give them: one node at a time, reentrant within a node. */
class LeaseTable {
  readonly held = new Map<string, { node: string; count: number }>();

  acquire(node: string, name: string): SubscriptionLease | undefined {
    const current = this.held.get(name);
    if (current !== undefined && current.node !== node) return undefined;
    if (current === undefined) this.held.set(name, { node, count: 1 });
    else current.count++;
    const lost = Promise.withResolvers<void>();
    let released = false;
    return {
      lost: lost.promise,
      release: async () => {
        if (released) return;
        released = true;
        const entry = this.held.get(name)!;
        if (--entry.count === 0) this.held.delete(name);
        lost.resolve();
      },
    };
  }
}

/** `store` as seen by node `node`: the same store, with leases from `table`. */
function withLeases(store: SqliteEventStore, table: LeaseTable, node: string): EventStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'acquireSubscriptionLease') return async (name: string) => table.acquire(node, name);
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

interface Rig {
  dir: string;
  store: SqliteEventStore;
  hubs: SubscriptionHub[];
}

const rigs: Rig[] = [];

afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    for (const hub of rig.hubs) await hub.close();
    await rig.store.close();
    await removeDir(rig.dir);
  }
});

async function rig(): Promise<Rig> {
  const dir = await makeTempDir();
  const r: Rig = { dir, store: await openStore(dir), hubs: [] };
  rigs.push(r);
  await r.store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'sub' });
  return r;
}

function hubOn(r: Rig, store: EventStore, clock: ManualClock): SubscriptionHub {
  const hub = new SubscriptionHub({ store, clock }, { headPollIntervalMs: 0, recordCheckIntervalMs: 0, idleLeaseReleaseMs: GRACE_MS });
  r.hubs.push(hub);
  return hub;
}

/** Two nodes (hubs a and b) on one store, sharing a lease table and a clock. */
async function leasedNodes() {
  const r = await rig();
  const clock = new ManualClock();
  const leases = new LeaseTable();
  const a = hubOn(r, withLeases(r.store, leases, 'a'), clock);
  const b = hubOn(r, withLeases(r.store, leases, 'b'), clock);
  return { r, clock, leases, a, b };
}

const refusedAsElsewhere = (err: unknown) => (err as { code?: string }).code === 'unavailable';

describe('retiring persistent subscriptions left without a session', () => {
  it('the lease is given up exactly idleLeaseReleaseMs after the last session ended; the other node then delivers from the checkpoint', async () => {
    const { r, clock, leases, a, b } = await leasedNodes();
    await r.store.append('s', newEvents(4));
    const session = await a.connect('sub');
    const got = await new Reader(session).take(4);
    assert.equal(await a.ack('sub', [0, 2]), 0);
    session.close();
    clock.advance(GRACE_MS - 1);
    await assert.rejects(b.connect('sub'), refusedAsElsewhere, 'still held just before the grace period ends');
    clock.advance(1);
    await eventually(() => assert.equal(leases.held.size, 0));
    const taken = new Reader(await b.connect('sub'));
    assert.deepEqual(positionsOf(await taken.take(3)), [1, 2, 3], 'unacknowledged events again, none skipped');
    assert.deepEqual(positionsOf(got), [0, 1, 2, 3]);
    assert.equal(leases.held.get('sub')?.node, 'b');
  });

  it('a session arriving within the grace period keeps the subscription, and the grace period counts again from its end', async () => {
    const { r, clock, leases, a, b } = await leasedNodes();
    await r.store.append('s', newEvents(3));
    const first = await a.connect('sub');
    await new Reader(first).take(3);
    await a.ack('sub', [0]);
    first.close();
    clock.advance(GRACE_MS - 100);
    const second = await a.connect('sub');
    const again = await new Reader(second).take(2);
    assert.deepEqual(again.map((d) => [d.event.position, d.attempt]), [[1, 2], [2, 2]], 'the same state: delivery counts kept');
    clock.advance(GRACE_MS * 3);
    await assert.rejects(b.connect('sub'), refusedAsElsewhere, 'never retired while a session is open');
    second.close();
    clock.advance(GRACE_MS - 1);
    await assert.rejects(b.connect('sub'), refusedAsElsewhere, 'the grace period restarted when the second session ended');
    clock.advance(1);
    await eventually(() => assert.equal(leases.held.size, 0));
  });

  it('a subscription loaded by a replay alone, with no session, is retired too', async () => {
    const { r, clock, leases, a } = await leasedNodes();
    assert.equal(await a.replayParked('sub'), 0);
    assert.equal(leases.held.get('sub')?.node, 'a');
    clock.advance(GRACE_MS);
    await eventually(() => assert.equal(leases.held.size, 0));
  });

  it('after retirement the same node loads the subscription again, taking the lease again', async () => {
    const { r, clock, leases, a } = await leasedNodes();
    await r.store.append('s', newEvents(2));
    const first = await a.connect('sub');
    await new Reader(first).take(2);
    assert.equal(await a.ack('sub', [0]), 0);
    first.close();
    clock.advance(GRACE_MS);
    await eventually(() => assert.equal(leases.held.size, 0));
    const reader = new Reader(await a.connect('sub'));
    assert.deepEqual((await reader.take(1)).map((d) => [d.event.position, d.attempt]), [[1, 1]], 'from the durable checkpoint');
    assert.deepEqual(leases.held.get('sub'), { node: 'a', count: 1 });
  });

  it('a connect that began before the retirement ends in a working session, under one lease, after the last checkpoint save', async () => {
    const { r, clock, leases, a } = await leasedNodes();
    await r.store.append('s', newEvents(3));
    const first = await a.connect('sub');
    await new Reader(first).take(3);
    const acked = a.ack('sub', [0, 1]); // its checkpoint save is in flight as the retirement begins
    first.close();
    const connecting = a.connect('sub'); // reading the record
    clock.advance(GRACE_MS);
    const reader = new Reader(await connecting);
    assert.equal(await acked, 1);
    assert.deepEqual((await reader.take(1)).map((d) => [d.event.position, d.attempt]), [[2, 1]], 'after the saved checkpoint');
    assert.deepEqual(leases.held.get('sub'), { node: 'a', count: 1 });
    assert.ok(await reader.quietFor(50));
  });

  it('without leases: a subscription with unacknowledged events is kept (delivery counts survive); one at rest is let go', async () => {
    const r = await rig();
    const clock = new ManualClock();
    const hub = hubOn(r, r.store, clock);
    await r.store.append('s', newEvents(2));
    const first = await hub.connect('sub');
    await new Reader(first).take(2);
    await hub.ack('sub', [0]);
    first.close();
    clock.advance(GRACE_MS * 5);
    assert.equal(clock.pending, 1, 'kept, looked at again later');
    const second = await hub.connect('sub');
    const reader = new Reader(second);
    assert.deepEqual((await reader.take(1)).map((d) => [d.event.position, d.attempt]), [[1, 2]], 'as before: the count goes on');
    assert.equal(await hub.ack('sub', [1]), 1);
    second.close();
    clock.advance(GRACE_MS);
    await eventually(() => assert.equal(clock.pending, 0, 'retired: nothing scheduled for it any more'));
    await r.store.append('s', newEvents(1));
    const third = new Reader(await hub.connect('sub'));
    assert.deepEqual((await third.take(1)).map((d) => [d.event.position, d.attempt]), [[2, 1]], 'no gap, no repeat');
    assert.ok(await third.quietFor(50));
  });
});
