import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DeliveryWindow } from '../../../src/store/subscriptions/delivery-window.ts';
import { recordedEvent } from './support/events.ts';

const ev = (position: number) => recordedEvent({ position });

function deliverFresh(window: DeliveryWindow, positions: number[], now = 0): void {
  for (const p of positions) window.add(ev(p), false, now);
}

function redeliverAll(window: DeliveryWindow, now = 0): [number, number][] {
  const out: [number, number][] = [];
  for (let e = window.nextRedelivery(now); e !== undefined; e = window.nextRedelivery(now)) {
    out.push([e.event.position, e.attempt]);
  }
  return out;
}

describe('DeliveryWindow', () => {
  it('moves the checkpoint over the contiguous acknowledged prefix only', () => {
    const w = new DeliveryWindow({ checkpoint: -1, maxDeliveries: 5 });
    deliverFresh(w, [2, 5, 9]);
    w.acknowledge([5]);
    assert.equal(w.checkpoint, -1);
    w.acknowledge([2]);
    assert.equal(w.checkpoint, 5);
    assert.equal(w.size, 1);
    w.acknowledge([9, 9, 100]);
    assert.equal(w.checkpoint, 9);
    assert.equal(w.size, 0);
  });

  it('acknowledging again, or acknowledging what was never delivered, changes nothing', () => {
    const w = new DeliveryWindow({ checkpoint: 10, maxDeliveries: 5 });
    deliverFresh(w, [11, 12]);
    assert.equal(w.acknowledge([11]).length, 1);
    assert.equal(w.acknowledge([11]).length, 0);
    assert.equal(w.acknowledge([13, 3]).length, 0);
    assert.equal(w.checkpoint, 11);
  });

  it('goes back to the oldest outstanding event and redelivers it and every outstanding event after it, in order', () => {
    const w = new DeliveryWindow({ checkpoint: -1, maxDeliveries: 5 });
    deliverFresh(w, [0, 1, 2, 3, 4]);
    w.acknowledge([0, 2]);
    assert.equal(w.oldestOutstanding()?.event.position, 1);
    assert.deepEqual(w.rewind(), []);
    assert.ok(w.redeliveryPending);
    assert.deepEqual(redeliverAll(w), [
      [1, 2],
      [3, 2],
      [4, 2],
    ]);
    assert.ok(!w.redeliveryPending);
    assert.throws(() => {
      w.rewind();
      w.add(ev(5), false, 0);
    }, /redelivery is pending/);
  });

  it('parks instead of redelivering an event already delivered maxDeliveries times; parked counts as done', () => {
    const w = new DeliveryWindow({ checkpoint: -1, maxDeliveries: 2 });
    deliverFresh(w, [0, 1]);
    w.rewind();
    assert.deepEqual(redeliverAll(w), [
      [0, 2],
      [1, 2],
    ]);
    w.acknowledge([1]);
    const toPark = w.rewind();
    assert.deepEqual(
      toPark.map((e) => e.event.position),
      [0],
    );
    assert.deepEqual(redeliverAll(w), [], 'neither the parking one nor the acknowledged one goes out');
    assert.equal(w.checkpoint, -1, 'not done until recorded as parked');
    w.parked(toPark[0]!);
    assert.equal(w.checkpoint, 1);
  });

  it('replayed events never move the checkpoint but hold it while unacknowledged', () => {
    const w = new DeliveryWindow({ checkpoint: 20, maxDeliveries: 5 });
    w.add(ev(3), true, 0);
    deliverFresh(w, [21]);
    w.acknowledge([21]);
    assert.equal(w.checkpoint, 20);
    w.acknowledge([3]);
    assert.equal(w.checkpoint, 21);
  });

  it('property: the checkpoint is always the highest position p such that every fresh event up to p is done', () => {
    const action = fc.oneof(
      fc.record({ kind: fc.constant('deliver' as const), n: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('ack' as const), picks: fc.array(fc.nat(30), { maxLength: 4 }) }),
      fc.record({ kind: fc.constant('timeout' as const) }),
      fc.record({ kind: fc.constant('redeliver' as const), n: fc.integer({ min: 1, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), fc.integer({ min: 1, max: 4 }), (actions, maxDeliveries) => {
        const w = new DeliveryWindow({ checkpoint: -1, maxDeliveries });
        const delivered: number[] = [];
        const done = new Set<number>();
        let lastInRound = -1; // deliveries between two timeouts are in increasing position order
        let next = 0;
        for (const a of actions) {
          if (a.kind === 'deliver') {
            if (w.redeliveryPending) continue;
            for (let i = 0; i < a.n; i++, next += 2) {
              w.add(ev(next), false, 0);
              delivered.push(next);
              assert.ok(next > lastInRound);
              lastInRound = next;
            }
          } else if (a.kind === 'ack') {
            const positions = a.picks.map((i) => delivered[i % Math.max(1, delivered.length)] ?? 0);
            for (const e of w.acknowledge(positions)) done.add(e.event.position);
          } else if (a.kind === 'timeout') {
            lastInRound = -1;
            for (const e of w.rewind()) {
              w.parked(e);
              done.add(e.event.position);
            }
          } else {
            for (let i = 0; i < a.n; i++) {
              const e = w.nextRedelivery(0);
              if (e === undefined) break;
              assert.ok(e.attempt <= maxDeliveries, 'never delivered more than maxDeliveries times');
              assert.ok(!done.has(e.event.position), 'a done event is never delivered again');
              assert.ok(e.event.position > lastInRound, 'a round of redeliveries is in order');
              lastInRound = e.event.position;
            }
          }
          let expected = -1;
          for (const p of delivered) {
            if (!done.has(p)) break;
            expected = p;
          }
          assert.equal(w.checkpoint, expected);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
