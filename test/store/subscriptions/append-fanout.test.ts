/** The hub's fan-out of append notifications, and its head poll for notifications that never came. */
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { SubscriptionHub } from '../../../src/store/subscriptions/index.ts';
import { AppendFanout } from '../../../src/store/subscriptions/append-fanout.ts';
import type { AppendListener } from '../../../src/store/event-store.ts';
import { pino } from 'pino';
import type { EventStore } from '../../../src/store/event-store.ts';
import { ManualClock } from './support/manual-clock.ts';
import { MemoryLog } from './support/memory-log.ts';
import { Reader, positionsOf } from './support/reader.ts';

/** Only the parts of the store that observing uses. */
const asStore = (log: MemoryLog) => log as unknown as EventStore;

describe('SubscriptionHub append fan-out', () => {
  it('registers one listener on the store however many subscribe, and removes it on close', async () => {
    const log = new MemoryLog();
    const hub = new SubscriptionHub({ store: asStore(log) }, { headPollIntervalMs: 0 });
    const readers = await Promise.all(
      Array.from({ length: 5 }, async () => new Reader(await hub.observe({ type: 'by_stream', selector: '$all' }))),
    );
    assert.equal(log.listenerCount, 1);
    log.commit([{ eventType: 'a' }, { eventType: 'b' }]);
    for (const reader of readers) assert.deepEqual(positionsOf(await reader.take(2)), [0, 1]);
    await hub.close();
    assert.equal(log.listenerCount, 0);
  });

  it('a commit whose notification was lost reaches live observers at the next head poll', async () => {
    const log = new MemoryLog();
    const clock = new ManualClock();
    const hub = new SubscriptionHub({ store: asStore(log), clock }, { headPollIntervalMs: 1_000 });
    const reader = new Reader(await hub.observe({ type: 'by_stream', selector: '$all' }));
    assert.ok(await reader.quietFor(30), 'caught up, waiting for a notification');
    log.commit([{ eventType: 'a' }], () => {}); // committed, never announced
    assert.ok(await reader.quietFor(30));
    clock.advance(1_000);
    await tick();
    assert.deepEqual(positionsOf(await reader.take(1)), [0]);
    await hub.close();
    assert.equal(clock.pending, 0, 'no poll left behind');
  });

  it('a hint that names its position is not announced again by the head poll', async () => {
    // Another node's commit, announced by a notification: every caught-up reader reads the store once for it, not
    // once more at the next poll.
    let fromStore: AppendListener = () => {};
    const store = {
      onAppend: (l: AppendListener) => ((fromStore = l), () => {}),
      lastPosition: async () => 5,
      readFiltered: async () => assert.fail('nothing to read: the first hint goes out bare'),
    };
    const clock = new ManualClock();
    const fanout = new AppendFanout({ store, clock, logger: pino({ level: 'silent' }) }, { headPollIntervalMs: 1_000 });
    const told: number[] = [];
    fanout.onAppend((events) => told.push(events.length));
    fromStore([], 5);
    assert.deepEqual(told, [0]);
    clock.advance(1_000);
    await tick();
    await tick();
    assert.deepEqual(told, [0], 'the poll found the head where the hint said');
    fromStore([], undefined); // a hint without a position (after a reconnect) still reaches everyone
    assert.deepEqual(told, [0, 0]);
    fanout.close();
  });

  it('another process\'s commits reach every live reader through one shared read per commit', async () => {
    const log = new MemoryLog();
    const hub = new SubscriptionHub({ store: asStore(log) }, { headPollIntervalMs: 0 });
    const readers = await Promise.all(
      Array.from({ length: 20 }, async () => new Reader(await hub.observe({ type: 'by_stream', selector: '$all' }))),
    );
    for (const reader of readers) assert.ok(await reader.quietFor(10));
    /** A commit announced as another node's is: a bare hint naming how far it reached. */
    const remoteCommit = (n: number) => {
      const committed = log.commit(Array.from({ length: n }, () => ({ eventType: 'remote' })), () => {});
      log.hint(committed.at(-1)!.position);
    };
    remoteCommit(2); // the first: where the readers stand is unknown yet, each reads for itself
    for (const reader of readers) assert.deepEqual(positionsOf(await reader.take(2)), [0, 1]);
    /** Until every reader waits for news (a reader that just caught up may confirm it with one more read). */
    const allWaiting = () => Promise.all(readers.map((reader) => reader.quietFor(5)));
    await allWaiting();
    const readsBefore = log.reads;
    for (let c = 0; c < 10; c++) {
      await allWaiting();
      remoteCommit(3);
      for (const reader of readers) {
        assert.deepEqual(positionsOf(await reader.take(3)), [2 + 3 * c, 3 + 3 * c, 4 + 3 * c]);
      }
    }
    // Before: every caught-up reader read the store for every commit, 200 reads.
    assert.equal(log.reads - readsBefore, 10, 'one read per commit');
    for (const reader of readers) assert.ok(await reader.quietFor(10), 'nothing twice');
    await hub.close();
  });

  it('coalesces hints that come during a shared read, and falls back to a bare hint when the read fails', async () => {
    const log = new MemoryLog();
    const fanout = new AppendFanout({ store: asStore(log), clock: new ManualClock(), logger: pino({ level: 'silent' }) }, {
      headPollIntervalMs: 0,
    });
    const told: number[][] = [];
    fanout.onAppend((events) => told.push(events.map((e) => e.position)));
    log.commit([{}]); // told at once: the fanout knows where its listeners stand
    assert.deepEqual(told, [[0]]);
    const gate = Promise.withResolvers<void>();
    log.beforeSnapshot = () => gate.promise;
    for (let p = 1; p <= 3; p++) {
      log.commit([{}], () => {});
      log.hint(p);
    }
    await tick();
    assert.equal(log.reads, 1, 'one read in flight for the first hint; the others wait for it');
    gate.resolve();
    await eventuallyTrue(() => told.length === 2);
    assert.deepEqual(told[1], [1, 2, 3], 'the read in flight already saw the later commits');
    await tick();
    assert.equal(log.reads, 1, 'and nothing is read again for them');
    log.beforeSnapshot = () => Promise.reject(new Error('the database is gone'));
    log.commit([{}], () => {});
    log.hint(4);
    await eventuallyTrue(() => told.length === 3);
    assert.deepEqual(told[2], [], 'a bare hint: the readers try for themselves');
    fanout.close();
  });
});

async function eventuallyTrue(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await tick();
  assert.ok(check());
}
