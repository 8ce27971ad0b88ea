/**
 * The cursor's logic against an in-memory log, where reads can be interleaved with commits and notifications at
 * will. The same guarantees are proven against real SQLite files in subscription-hub.test.ts.
 */
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EventCursor } from '../../../src/store/subscriptions/event-cursor.ts';
import { Wait } from '../../../src/store/subscriptions/async-primitives.ts';
import { compileMatcher } from '../../../src/store/subscriptions/matcher.ts';
import type { RecordedEvent } from '../../../src/store/types.ts';
import { MemoryLog, type ProposedEvent } from './support/memory-log.ts';

/** A promise of the cursor's next wake-up (pull loops listen through a Wait the same way). */
const appendHeard = (cursor: EventCursor): Promise<void> => new Wait().on(cursor.listenForAppend).promise;

const typeA = compileMatcher('by_event_type', 'a');
const everything = compileMatcher('by_stream', '$all');

function events(n: number, eventType = 'a'): ProposedEvent[] {
  return Array.from({ length: n }, () => ({ eventType }));
}

async function drain(cursor: EventCursor): Promise<number[]> {
  const positions: number[] = [];
  for (let e = await cursor.tryNext(); e !== undefined; e = await cursor.tryNext()) positions.push(e.position);
  return positions;
}

async function resolvesSoon(promise: Promise<void>): Promise<boolean> {
  let resolved = false;
  void promise.then(() => (resolved = true));
  await tick();
  return resolved;
}

describe('EventCursor', () => {
  it('replays history in batches from its position, then reports being caught up', async () => {
    const log = new MemoryLog();
    log.commit(events(10));
    const cursor = new EventCursor({ store: log, appends: log }, { matcher: everything, fromPosition: 3, batchEvents: 4 });
    assert.deepEqual(await drain(cursor), [3, 4, 5, 6, 7, 8, 9]);
    // A short page whose last event is the head looks like one the store cut short by bytes: one more, empty, read.
    assert.equal(log.reads, 3, 'three reads: a full page of 4, a short page of 3 ending at the head, an empty one');
    assert.equal(await cursor.tryNext(), undefined);
    assert.equal(log.reads, 3, 'caught up with no news: no read');
    assert.equal(await resolvesSoon(appendHeard(cursor)), false);
  });

  it('takes live events from a notification that starts at its position, without reading the store', async () => {
    const log = new MemoryLog();
    log.commit(events(2));
    const cursor = new EventCursor({ store: log, appends: log }, { matcher: typeA, fromPosition: 0 });
    assert.deepEqual(await drain(cursor), [0, 1]);
    const reads = log.reads;
    const waiting = appendHeard(cursor);
    log.commit([{ eventType: 'a' }, { eventType: 'b' }, { eventType: 'a' }]);
    await waiting;
    assert.deepEqual(await drain(cursor), [2, 4]);
    assert.equal(log.reads, reads, 'served from the notification');
  });

  it('reads the store when a notification leaves a gap, missing nothing and repeating nothing', async () => {
    const log = new MemoryLog();
    const cursor = new EventCursor({ store: log, appends: log }, { matcher: typeA, fromPosition: 0 });
    assert.deepEqual(await drain(cursor), []);
    log.commit(events(2), () => {}); // its notification is lost
    log.commit(events(2));
    const reads = log.reads;
    assert.deepEqual(await drain(cursor), [0, 1, 2, 3]);
    assert.equal(log.reads, reads + 2, 'the page to the head, then the empty one that proves it is the head');
  });

  it('a bare hint makes a caught-up cursor read the store', async () => {
    const log = new MemoryLog();
    const cursor = new EventCursor({ store: log, appends: log }, { matcher: typeA, fromPosition: 0 });
    await drain(cursor);
    log.commit(events(3), () => {});
    assert.deepEqual(await drain(cursor), [], 'nothing heard, nothing read');
    const waiting = appendHeard(cursor);
    log.hint();
    await waiting;
    assert.deepEqual(await drain(cursor), [0, 1, 2]);
  });

  it('keeps reading through full pages that the payload predicate rejects, without waiting', async () => {
    const log = new MemoryLog();
    log.commit(Array.from({ length: 50 }, (_, i) => ({ eventType: 'a', data: { n: i } })));
    const matcher = compileMatcher('by_event_payload', { n: 42 });
    const cursor = new EventCursor({ store: log, appends: log }, { matcher, fromPosition: 0, batchEvents: 5 });
    const first = await cursor.tryNext();
    assert.equal(first?.position, 42);
    assert.equal(await cursor.tryNext(), undefined);
  });

  it('close ends waiting, stops listening and returns nothing more', async () => {
    const log = new MemoryLog();
    const cursor = new EventCursor({ store: log, appends: log }, { matcher: typeA, fromPosition: 0 });
    await drain(cursor);
    const waiting = appendHeard(cursor);
    assert.equal(log.listenerCount, 1);
    cursor.close();
    await waiting;
    assert.equal(log.listenerCount, 0);
    log.commit(events(1));
    assert.equal(await cursor.tryNext(), undefined);
  });

  it('property: whatever the interleaving of commits, notifications, reads and pulls, it yields exactly the matching events in order', async () => {
    const proposed = fc.array(fc.record({ eventType: fc.constantFrom('a', 'b') }), { minLength: 1, maxLength: 4 });
    const commit = fc.record({
      kind: fc.constant('commit' as const),
      events: proposed,
      deferNotification: fc.boolean(),
      flushDeferred: fc.boolean(),
    });
    const pull = fc.record({ kind: fc.constant('pull' as const), count: fc.integer({ min: 1, max: 6 }) });
    const racer = fc.record({ when: fc.constantFrom('before' as const, 'after' as const), events: proposed, defer: fc.boolean() });

    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ eventType: fc.constantFrom('a', 'b') }), { maxLength: 12 }),
        fc.nat(14),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.oneof(commit, pull), { maxLength: 25 }),
        fc.array(fc.option(racer), { maxLength: 10 }),
        async (history, start, batchEvents, steps, racers) => {
          const log = new MemoryLog();
          log.commit(history);
          const deferred: (() => void)[] = [];
          const notify = (defer: boolean) => (deliver: () => void) => (defer ? deferred.push(deliver) : deliver());
          const flush = () => deferred.splice(0).forEach((deliver) => deliver());
          const race = (when: 'before' | 'after') => {
            const r = racers[0];
            if (r === undefined) return;
            if (r !== null && r.when !== when) return;
            racers.shift();
            if (r !== null) log.commit(r.events, notify(r.defer));
          };
          log.beforeSnapshot = () => race('before');
          log.afterSnapshot = async () => {
            race('after');
            await tick();
          };

          const fromPosition = Math.min(start, history.length);
          const cursor = new EventCursor({ store: log, appends: log }, { matcher: typeA, fromPosition, batchEvents });
          const got: number[] = [];
          for (const step of steps) {
            if (step.kind === 'commit') {
              log.commit(step.events, notify(step.deferNotification));
              if (step.flushDeferred) flush();
            } else {
              for (let i = 0; i < step.count; i++) {
                const e: RecordedEvent | undefined = await cursor.tryNext();
                if (e !== undefined) got.push(e.position);
              }
            }
          }
          log.beforeSnapshot = undefined;
          log.afterSnapshot = undefined;
          flush();
          got.push(...(await drain(cursor)));

          const expected = log.events.filter((e) => e.position >= fromPosition && e.eventType === 'a');
          assert.deepEqual(got, expected.map((e) => e.position));
          // Quiescent: nothing to wait for, until the next commit.
          assert.equal(await resolvesSoon(appendHeard(cursor)), false);
          const waiting = appendHeard(cursor);
          log.commit([{ eventType: 'b' }]);
          assert.equal(await resolvesSoon(waiting), true);
          cursor.close();
        },
      ),
      { numRuns: 400 },
    );
  });
});
