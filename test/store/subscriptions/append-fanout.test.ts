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
    const store = { onAppend: (l: AppendListener) => ((fromStore = l), () => {}), lastPosition: async () => 5 };
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
});
