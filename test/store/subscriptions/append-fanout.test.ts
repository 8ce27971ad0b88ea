/** The hub's fan-out of append notifications, and its head poll for notifications that never came. */
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { SubscriptionHub } from '../../../src/store/subscriptions/index.ts';
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
});
