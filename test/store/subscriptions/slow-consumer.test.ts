/**
 * A slow consumer slows only itself, and holds at most a batch in memory, however far behind it falls: 20,000 events
 * appended to a real SQLite store while one observer keeps up and another stops pulling.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import type { SqliteEventStore } from '../../../src/store/sqlite/index.ts';
import { READ_BATCH_EVENTS, SubscriptionHub } from '../../../src/store/subscriptions/index.ts';
import type { RecordedEvent } from '../../../src/store/types.ts';
import { Reader } from './support/reader.ts';
import { makeTempDir, newEvents, openStore, removeDir } from './support/sqlite.ts';

const TOTAL = 20_000;
const PER_APPEND = 100;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('a slow consumer on SQLite', () => {
  let dir: string;
  let store: SqliteEventStore;
  let hub: SubscriptionHub;

  before(async () => {
    dir = await makeTempDir();
    store = await openStore(dir);
    hub = new SubscriptionHub({ store });
  });

  after(async () => {
    await hub.close();
    await store.close();
    await removeDir(dir);
  });

  it('does not hold up a fast one, and what it has not pulled stays in the store, not in memory', async () => {
    const fast = new Reader(await hub.observe({ type: 'by_stream', selector: '$all' }));
    const slow = new Reader(await hub.observe({ type: 'by_stream', selector: '$all' }));
    const slowSeen: number[] = [];
    // Every event object the store announces, remembered weakly: after a collection, those still reachable are
    // what the subscribers keep in memory.
    const announced: WeakRef<RecordedEvent>[] = [];
    const stopListening = store.onAppend((events) => {
      for (const e of events) announced.push(new WeakRef(e));
    });

    // The slow consumer pulls a little, then stops pulling while everything is appended.
    const appending = (async () => {
      for (let i = 0; i < TOTAL / PER_APPEND; i++) await store.append(`stream-${i % 10}`, newEvents(PER_APPEND));
    })();
    for (const d of await slow.take(10, 30_000)) slowSeen.push(d.event.position);

    let expected = 0;
    const started = performance.now();
    while (expected < TOTAL) {
      const d = await fast.next(30_000);
      assert.equal(d?.event.position, expected, 'the fast consumer gets every event in order');
      expected++;
    }
    const fastMs = performance.now() - started;
    await appending;
    stopListening();
    assert.equal(announced.length, TOTAL);
    assert.equal(slowSeen.length, 10, 'the slow consumer has not moved meanwhile');

    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const retained = announced.filter((ref) => ref.deref() !== undefined).length;
    // The slow consumer is 19,990 events behind. It may keep the latest commit's events; a design that queued live
    // events per subscriber would retain all 19,990.
    assert.ok(retained <= READ_BATCH_EVENTS + PER_APPEND, `events retained: ${retained}`);
    const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
    console.log(
      `slow-consumer: fast observer took ${TOTAL} live events in ${fastMs.toFixed(0)} ms ` +
        `(${Math.round(TOTAL / (fastMs / 1000))}/s, appends included); ` +
        `events retained while the slow one was ${TOTAL - slowSeen.length} behind: ${retained}; heap ${heapMb.toFixed(1)} MB`,
    );

    // Then the slow consumer catches up from the store, exactly.
    for (const d of await slow.take(TOTAL - slowSeen.length, 60_000)) slowSeen.push(d.event.position);
    assert.deepEqual(
      slowSeen,
      Array.from({ length: TOTAL }, (_, i) => i),
    );
    assert.ok(await slow.quietFor(20));
  });

  it('keeps a live observer and a live session at the same memory however many commits wake them', async () => {
    // Each commit wakes both from their wait for the next event. A wait that raced a promise living as long as the
    // subscription left a reaction on it every time: about 330 bytes per wake-up, until the subscription ended.
    const fast = await openStore(dir, { synchronous: 'NORMAL', storeId: 'wake-ups' });
    const wakeHub = new SubscriptionHub({ store: fast });
    try {
      await fast.saveSubscription({ type: 'by_stream', selector: 'live', name: 'live' });
      const observer = new Reader(await wakeHub.observe({ type: 'by_stream', selector: 'live' }));
      const session = new Reader(await wakeHub.connect('live'));
      const cycle = async (n: number) => {
        for (let i = 0; i < n; i++) {
          // Both wait for the next event before it is appended.
          const observed = observer.next();
          const delivered = session.next();
          await new Promise((resolve) => setImmediate(resolve));
          await fast.append('live', newEvents(1));
          await observed;
          await wakeHub.ack('live', [(await delivered)!.event.position]);
        }
      };
      const heapAfterGc = async () => {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
        gc();
        return process.memoryUsage().heapUsed;
      };
      await cycle(2_000);
      const before = await heapAfterGc();
      await cycle(20_000);
      const grownMb = ((await heapAfterGc()) - before) / 2 ** 20;
      console.log(`wake-ups: heap grew ${grownMb.toFixed(2)} MB over 20,000 commits (24 MB before waits stopped racing long-lived promises)`);
      assert.ok(grownMb < 2, `heap grew ${grownMb.toFixed(2)} MB over 20,000 wake-ups of each`);
    } finally {
      await wakeHub.close();
      await fast.close();
    }
  });
});
