/** Persistent subscriptions against real SQLite files: checkpoints, acks, redelivery, parking, sessions, restarts. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { NotFoundError } from '../../../src/errors/index.ts';
import type { EventStore } from '../../../src/store/event-store.ts';
import type { SqliteEventStore } from '../../../src/store/sqlite/index.ts';
import { PARK_REASON_MAX_DELIVERIES, SubscriptionHub } from '../../../src/store/subscriptions/index.ts';
import type { SubscriptionSpec } from '../../../src/store/types.ts';
import { ManualClock } from './support/manual-clock.ts';
import { Reader, eventually, positionsOf } from './support/reader.ts';
import { makeTempDir, newEvents, openStore, removeDir } from './support/sqlite.ts';

interface Fixture {
  dir: string;
  store: SqliteEventStore;
  hub: SubscriptionHub;
}

const fixtures: Fixture[] = [];

async function fixture(options: { clock?: ManualClock; store?: EventStore } = {}): Promise<Fixture> {
  const dir = await makeTempDir();
  const store = await openStore(dir);
  const hub = new SubscriptionHub(
    { store: options.store ?? store, ...(options.clock ? { clock: options.clock } : {}) },
    options.clock ? { headPollIntervalMs: 0 } : {},
  );
  const f = { dir, store, hub };
  fixtures.push(f);
  return f;
}

/** Closes and reopens the store and the hub, as a process restart would. */
async function restart(f: Fixture): Promise<void> {
  await f.hub.close();
  await f.store.close();
  f.store = await openStore(f.dir);
  f.hub = new SubscriptionHub({ store: f.store });
}

afterEach(async () => {
  for (const f of fixtures.splice(0)) {
    await f.hub.close();
    await f.store.close();
    await removeDir(f.dir);
  }
});

const spec = (s: Partial<SubscriptionSpec> & { options?: SubscriptionSpec['options'] }): SubscriptionSpec => ({
  type: 'by_event_type',
  selector: 'reading:v1',
  name: 'sub',
  ...s,
});

describe('persistent subscriptions on SQLite', () => {
  it('deliver matching events in position order; acks move the durable checkpoint, which survives a reopen', async () => {
    const f = await fixture();
    for (let i = 0; i < 10; i++) {
      await f.store.append('readings', newEvents(1));
      await f.store.append('noise', newEvents(1, { eventType: 'noise:v1' }));
    }
    await f.store.saveSubscription(spec({}));
    const reader = new Reader(await f.hub.connect('sub'));
    const got = await reader.take(10);
    assert.deepEqual(
      positionsOf(got),
      Array.from({ length: 10 }, (_, i) => 2 * i),
    );
    assert.ok(got.every((d) => d.attempt === 1));
    const checkpoint = await f.hub.ack('sub', positionsOf(got));
    assert.equal(checkpoint, 18);
    assert.equal((await f.store.getSubscription('sub'))?.checkpoint, 18, 'saved when ack resolves');
    await restart(f);
    assert.equal((await f.hub.getSubscription('sub')).checkpoint, 18);
  });

  it('catching up while appenders race it, acking as it goes: every event once, in order; the checkpoint ends at the last', async () => {
    const f = await fixture();
    await f.store.append('history', newEvents(2_000));
    await f.store.saveSubscription(spec({ type: 'by_stream', selector: '$all' }));
    const reader = new Reader(await f.hub.connect('sub'));
    const sizes = Array.from({ length: 3 }, (_, w) => Array.from({ length: 200 }, (_, i) => 1 + ((i + w) % 3)));
    const total = 2_000 + sizes.flat().reduce((a, b) => a + b, 0);
    const appenders = sizes.map(async (batches, w) => {
      for (const size of batches) await f.store.append(`appender-${w}`, newEvents(size));
    });
    const got: number[] = [];
    let checkpoint = -1;
    while (got.length < total) {
      const batch = await reader.take(Math.min(25, total - got.length), 30_000);
      assert.ok(batch.every((d) => d.attempt === 1));
      got.push(...positionsOf(batch));
      checkpoint = await f.hub.ack('sub', positionsOf(batch));
    }
    await Promise.all(appenders);
    assert.deepEqual(
      got,
      Array.from({ length: total }, (_, i) => i),
    );
    assert.equal(checkpoint, total - 1);
    assert.equal((await f.store.getSubscription('sub'))?.checkpoint, total - 1);
    assert.ok(await reader.quietFor(50));
  });

  it('the checkpoint moves over the contiguous acknowledged prefix only; acks are idempotent; unknown positions are ignored', async () => {
    const f = await fixture();
    await f.store.append('readings', newEvents(5));
    await f.store.saveSubscription(spec({}));
    const reader = new Reader(await f.hub.connect('sub'));
    await reader.take(5);
    assert.equal(await f.hub.ack('sub', [1, 3]), -1);
    assert.equal(await f.hub.ack('sub', [0]), 1);
    assert.equal(await f.hub.ack('sub', [0, 1]), 1);
    assert.equal(await f.hub.ack('sub', [999, 2]), 3);
    assert.equal(await f.hub.ack('sub', []), 3);
    assert.equal((await f.store.getSubscription('sub'))?.checkpoint, 3);
  });

  it('acks made in one tick are saved with one checkpoint write', async () => {
    const dir = await makeTempDir();
    const real = await openStore(dir);
    let saves = 0;
    // The real store, with its checkpoint writes counted.
    const counted = new Proxy(real, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (key === 'saveCheckpoint') {
          return (name: string, position: number) => {
            saves++;
            return target.saveCheckpoint(name, position);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const hub = new SubscriptionHub({ store: counted });
    fixtures.push({ dir, store: real, hub });
    await real.append('readings', newEvents(50));
    await real.saveSubscription(spec({}));
    const reader = new Reader(await hub.connect('sub'));
    const got = await reader.take(50);
    const results = await Promise.all(got.map((d) => hub.ack('sub', [d.event.position])));
    assert.deepEqual(new Set(results), new Set([49]));
    assert.equal(saves, 1);
    assert.equal((await real.getSubscription('sub'))?.checkpoint, 49);
  });

  it('by_stream of one stream: startFrom is a stream version; history, then live events', async () => {
    const f = await fixture();
    for (let i = 0; i < 8; i++) {
      await f.store.append('greenhouse-1', newEvents(1));
      await f.store.append('greenhouse-2', newEvents(1));
    }
    await f.store.saveSubscription(spec({ type: 'by_stream', selector: 'greenhouse-1', startFrom: 5 }));
    const reader = new Reader(await f.hub.connect('sub'));
    const history = await reader.take(3);
    assert.deepEqual(
      history.map((d) => [d.event.streamId, d.event.version]),
      [
        ['greenhouse-1', 5],
        ['greenhouse-1', 6],
        ['greenhouse-1', 7],
      ],
    );
    await f.store.append('greenhouse-2', newEvents(1));
    await f.store.append('greenhouse-1', newEvents(2));
    assert.deepEqual(
      (await reader.take(2)).map((d) => d.event.version),
      [8, 9],
    );
    assert.ok(await reader.quietFor(50));
  });

  it('other types: startFrom is a global position', async () => {
    const f = await fixture();
    await f.store.append('readings', newEvents(10));
    await f.store.saveSubscription(spec({ startFrom: 7 }));
    const reader = new Reader(await f.hub.connect('sub'));
    assert.deepEqual(positionsOf(await reader.take(3)), [7, 8, 9]);
  });

  it('at most maxInFlight unacknowledged events are out; an ack lets the next one go', async () => {
    const f = await fixture();
    await f.store.append('readings', newEvents(10));
    await f.store.saveSubscription(spec({ options: { maxInFlight: 3 } }));
    const reader = new Reader(await f.hub.connect('sub'));
    assert.deepEqual(positionsOf(await reader.take(3)), [0, 1, 2]);
    assert.ok(await reader.quietFor(100), 'the window is full');
    await f.hub.ack('sub', [1]);
    assert.ok(await reader.quietFor(50), 'an ack behind the oldest unacknowledged event frees nothing');
    await f.hub.ack('sub', [0]);
    assert.deepEqual(positionsOf(await reader.take(2)), [3, 4]);
  });

  it('unacknowledged events are delivered again after the ack timeout, in order (real timers)', async () => {
    const f = await fixture();
    await f.store.append('readings', newEvents(4));
    await f.store.saveSubscription(spec({ options: { ackTimeoutMs: 400, maxDeliveries: 5 } }));
    const reader = new Reader(await f.hub.connect('sub'));
    await reader.take(4);
    await f.hub.ack('sub', [0, 2]);
    const again = await reader.take(2);
    assert.deepEqual(
      again.map((d) => [d.event.position, d.attempt]),
      [
        [1, 2],
        [3, 2],
      ],
    );
    assert.equal(await f.hub.ack('sub', [1, 3]), 3);
    assert.ok(await reader.quietFor(600), 'nothing is redelivered once acknowledged');
  });

  it('go-back-N with a manual clock: nothing before the timeout, everything unacknowledged from the oldest at it', async () => {
    const clock = new ManualClock();
    const f = await fixture({ clock });
    await f.store.append('readings', newEvents(3));
    await f.store.saveSubscription(spec({ options: { ackTimeoutMs: 1_000, maxDeliveries: 5 } }));
    const reader = new Reader(await f.hub.connect('sub'));
    await reader.take(2);
    clock.advance(400);
    await reader.take(1); // position 2, delivered at t=400
    await f.hub.ack('sub', [1]);
    clock.advance(599);
    assert.ok(await reader.quietFor(50), 'not yet: the oldest was delivered 999 ms ago');
    clock.advance(1);
    assert.deepEqual(
      (await reader.take(2)).map((d) => [d.event.position, d.attempt]),
      [
        [0, 2],
        [2, 2],
      ],
    );
    clock.advance(999);
    assert.ok(await reader.quietFor(50));
    clock.advance(1);
    assert.deepEqual(
      (await reader.take(2)).map((d) => [d.event.position, d.attempt]),
      [
        [0, 3],
        [2, 3],
      ],
    );
  });

  it('an event delivered maxDeliveries times without an ack is parked, counts as done, and replays on request', async () => {
    const f = await fixture();
    await f.store.append('readings', newEvents(3));
    await f.store.saveSubscription(spec({ options: { ackTimeoutMs: 400, maxDeliveries: 2 } }));
    const reader = new Reader(await f.hub.connect('sub'));
    await reader.take(3);
    await f.hub.ack('sub', [0, 2]);
    const second = await reader.next();
    assert.deepEqual([second?.event.position, second?.attempt], [1, 2]);
    // No ack: after the next timeout position 1 is parked instead of delivered a third time.
    const parked = await eventually(async () => {
      const list = await f.hub.listParked('sub');
      assert.equal(list.length, 1);
      return list[0]!;
    });
    assert.equal(parked.position, 1);
    assert.equal(parked.deliveries, 2);
    assert.equal(parked.reason, PARK_REASON_MAX_DELIVERIES);
    assert.equal(parked.subscription, 'sub');
    await eventually(async () => assert.equal((await f.store.getSubscription('sub'))?.checkpoint, 2));
    assert.ok(await reader.quietFor(600), 'a parked event is not delivered again by itself');

    assert.equal(await f.hub.replayParked('sub'), 1);
    await f.store.append('readings', newEvents(1)); // position 3
    const replayed = await reader.take(2);
    assert.deepEqual(
      replayed.map((d) => [d.event.position, d.attempt]),
      [
        [1, 1],
        [3, 1],
      ],
      'the replay comes before the subscription continues',
    );
    assert.equal((await f.hub.listParked('sub')).length, 1, 'parked until acknowledged');
    assert.equal(await f.hub.replayParked('sub'), 0, 'not queued twice');
    assert.equal(await f.hub.ack('sub', [1, 3]), 3);
    assert.deepEqual(await f.hub.listParked('sub'), []);
  });

  it('a replay reads its parked events one at a time, and passes over (and unparks) one whose stream was deleted', async () => {
    const clock = new ManualClock();
    const f = await fixture({ clock });
    // Reads of every parked event at once held them all in memory, however large and however many.
    const read: number[][] = [];
    const readPositions = f.store.readPositions.bind(f.store);
    f.store.readPositions = (positions) => (read.push([...positions]), readPositions(positions));
    for (const stream of ['a', 'b', 'c']) await f.store.append(stream, newEvents(1));
    await f.store.saveSubscription(spec({ options: { ackTimeoutMs: 1_000, maxDeliveries: 1 } }));
    const reader = new Reader(await f.hub.connect('sub'));
    assert.deepEqual(positionsOf(await reader.take(3)), [0, 1, 2]);
    clock.advance(1_000); // none acknowledged: all three parked
    await eventually(async () => assert.equal((await f.hub.listParked('sub')).length, 3));
    await f.store.deleteStream('b');
    assert.equal(await f.hub.replayParked('sub'), 3);
    const replayed = await reader.take(2);
    assert.deepEqual(replayed.map((d) => [d.event.position, d.attempt]), [[0, 1], [2, 1]]);
    await eventually(async () => assert.deepEqual((await f.hub.listParked('sub')).map((p) => p.position), [0, 2]));
    assert.deepEqual(read, [[0], [1], [2]], 'one parked event read at a time, when its turn came');
    assert.equal(await f.hub.ack('sub', [0, 2]), 2);
    assert.deepEqual(await f.hub.listParked('sub'), []);
  });

  it('a replay parked again by its ack timeout lets the durable checkpoint pass what was acknowledged behind it', async () => {
    const clock = new ManualClock();
    const f = await fixture({ clock });
    await f.store.append('readings', newEvents(3));
    await f.store.saveSubscription(spec({ options: { ackTimeoutMs: 1_000, maxDeliveries: 1 } }));
    const reader = new Reader(await f.hub.connect('sub'));
    await reader.take(3);
    await f.hub.ack('sub', [1, 2]);
    clock.advance(1_000); // 0 is parked
    await eventually(async () => assert.equal((await f.store.getSubscription('sub'))?.checkpoint, 2));
    assert.equal(await f.hub.replayParked('sub'), 1);
    await f.store.append('readings', newEvents(2)); // positions 3 and 4
    assert.deepEqual(positionsOf(await reader.take(3)), [0, 3, 4]);
    assert.equal(await f.hub.ack('sub', [3, 4]), 2, 'the replay of 0, out and unacknowledged, holds the checkpoint');
    clock.advance(1_000); // the replay times out: parked again, and 3 and 4 are done
    // Before: the window moved on, but nothing saved it until some later ack.
    await eventually(async () => assert.equal((await f.store.getSubscription('sub'))?.checkpoint, 4));
    assert.deepEqual((await f.hub.listParked('sub')).map((p) => p.position), [0]);
  });

  it('a park left ahead of the checkpoint by a crash is delivered once, afresh, not replayed as well', async () => {
    const f = await fixture();
    await f.store.append('readings', newEvents(4));
    const saved = await f.store.saveSubscription(spec({ options: { ackTimeoutMs: 300 } }));
    // As a node that parked position 1 and died before saving the checkpoint past it leaves the store.
    await f.store.parkEvent({ subscription: 'sub', position: 1, eventId: 'x', streamId: 'readings', deliveries: 5, reason: 'r' }, saved.createdAt);
    const reader = new Reader(await f.hub.connect('sub'));
    assert.equal(await f.hub.replayParked('sub'), 0, 'nothing to replay: the cursor brings it');
    assert.deepEqual(await f.hub.listParked('sub'), []);
    const all = await reader.take(4);
    assert.deepEqual(all.map((d) => [d.event.position, d.attempt]), [[0, 1], [1, 1], [2, 1], [3, 1]]);
    assert.equal(await f.hub.ack('sub', positionsOf(all)), 3);
    assert.ok(await reader.quietFor(600), 'nothing comes again');
  });

  it('a new session after a restart resumes after the durable checkpoint', async () => {
    const f = await fixture();
    await f.store.append('readings', newEvents(10));
    await f.store.saveSubscription(spec({}));
    const reader = new Reader(await f.hub.connect('sub'));
    const got = await reader.take(10);
    assert.equal(await f.hub.ack('sub', positionsOf(got.slice(0, 6))), 5);
    await f.hub.ack('sub', [8]); // out of order: not covered by the checkpoint, delivered again after the restart
    await restart(f);
    await f.store.append('readings', newEvents(2));
    const resumed = new Reader(await f.hub.connect('sub'));
    const after = await resumed.take(6);
    assert.deepEqual(positionsOf(after), [6, 7, 8, 9, 10, 11]);
    assert.ok(after.every((d) => d.attempt === 1), 'attempts are not remembered across processes');
  });

  it('a second connect replaces the first; its unacknowledged events go to the new session', async () => {
    const f = await fixture();
    await f.store.append('readings', newEvents(5));
    await f.store.saveSubscription(spec({}));
    const first = await f.hub.connect('sub');
    const firstReader = new Reader(first);
    await firstReader.take(4);
    await f.hub.ack('sub', [0, 2]);
    const second = await f.hub.connect('sub');
    assert.equal(await first.ended, 'replaced');
    assert.ok(await firstReader.ends());
    const secondReader = new Reader(second);
    const got = await secondReader.take(3);
    assert.deepEqual(
      got.map((d) => [d.event.position, d.attempt]),
      [
        [1, 2],
        [3, 2],
        [4, 1],
      ],
    );
    assert.equal(await f.hub.ack('sub', [1, 3, 4]), 4);
  });

  it('a session waiting for events when replaced hands nothing over twice and loses nothing', async () => {
    const f = await fixture();
    await f.store.saveSubscription(spec({}));
    const first = new Reader(await f.hub.connect('sub'));
    const waiting = first.next(); // waits in the cursor: the store is empty
    const second = new Reader(await f.hub.connect('sub'));
    assert.equal(await waiting, undefined);
    await f.store.append('readings', newEvents(2));
    assert.deepEqual(positionsOf(await second.take(2)), [0, 1]);
  });

  it('removing the subscription through the hub ends its session with removed', async () => {
    const f = await fixture();
    await f.store.saveSubscription(spec({}));
    const session = await f.hub.connect('sub');
    await f.hub.removeSubscription('by_event_type', 'reading:v1', 'sub');
    assert.equal(await session.ended, 'removed');
    await assert.rejects(f.hub.connect('sub'), NotFoundError);
  });

  it('unknown subscriptions are not_found', async () => {
    const f = await fixture();
    await assert.rejects(f.hub.connect('nope'), NotFoundError);
    await assert.rejects(f.hub.ack('nope', [1]), NotFoundError);
    await assert.rejects(f.hub.listParked('nope'), NotFoundError);
    await assert.rejects(f.hub.replayParked('nope'), NotFoundError);
  });

  it('a session whose store read fails ends with error and its iterator throws', async () => {
    const f = await fixture();
    await f.store.saveSubscription(spec({}));
    const session = await f.hub.connect('sub');
    const reader = new Reader(session);
    await f.store.close();
    await f.store.close();
    await assert.rejects(reader.next(), (err: unknown) => (err as { code?: string }).code === 'unavailable');
    assert.equal(await session.ended, 'error');
    assert.ok(await reader.ends());
  });
});
