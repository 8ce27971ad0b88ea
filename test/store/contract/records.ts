/** Contract: snapshots and persistent subscription records (definitions, checkpoints, parked events). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACK_TIMEOUT_MS, MAX_DELIVERIES, MAX_IN_FLIGHT, TAG_MATCH } from '../../../src/store/subscription-defaults.ts';
import type { SubscriptionSpec } from '../../../src/store/types.ts';
import { PAYLOAD_SELECTOR_DEPTH_MAX } from '../../../src/store/validate.ts';
import { rejectsWith, withStore, type StoreFactory } from './support.ts';

export function recordsContract(f: StoreFactory): void {
  describe('snapshots', () => {
    it('records, reads (0 = latest), lists and deletes, keeping data and metadata apart', () =>
      withStore(f, async (store) => {
        await store.recordSnapshot({ sourceUuid: 'src-a', streamUuid: 'acc-1', version: 3, data: { balance: 30 } });
        await store.recordSnapshot({
          sourceUuid: 'src-a',
          streamUuid: 'acc-1',
          version: 7,
          data: { balance: 70 },
          metadata: { schema: 2 },
        });
        await store.recordSnapshot({ sourceUuid: 'src-a', streamUuid: 'acc-2', version: 1, data: [1, 2] });
        await store.recordSnapshot({ sourceUuid: 'src-b', streamUuid: 'acc-1', version: 2, data: 'text' });

        const latest = await store.readSnapshot('src-a', 'acc-1', 0);
        assert.equal(latest.version, 7);
        assert.deepEqual(latest.data, { balance: 70 });
        assert.deepEqual(latest.metadata, { schema: 2 });
        assert.ok(Number.isFinite(Date.parse(latest.createdAt)));
        assert.ok(latest.createdEpochUs > 0);
        const third = await store.readSnapshot('src-a', 'acc-1', 3);
        assert.deepEqual([third.data, third.metadata], [{ balance: 30 }, {}]);
        await rejectsWith(store.readSnapshot('src-a', 'acc-1', 5), 'not_found');
        await rejectsWith(store.readSnapshot('src-x', 'acc-1', 0), 'not_found');

        const keys = (list: { sourceUuid: string; streamUuid: string; version: number }[]) =>
          list.map((s) => `${s.sourceUuid}/${s.streamUuid}/${s.version}`).sort();
        assert.deepEqual(keys(await store.listSnapshots()), [
          'src-a/acc-1/3',
          'src-a/acc-1/7',
          'src-a/acc-2/1',
          'src-b/acc-1/2',
        ]);
        assert.deepEqual(keys(await store.listSnapshots({ sourceUuid: 'src-a' })), [
          'src-a/acc-1/3',
          'src-a/acc-1/7',
          'src-a/acc-2/1',
        ]);
        assert.deepEqual(keys(await store.listSnapshots({ streamUuid: 'acc-1' })), [
          'src-a/acc-1/3',
          'src-a/acc-1/7',
          'src-b/acc-1/2',
        ]);
        assert.deepEqual(keys(await store.listSnapshots({ sourceUuid: 'src-a', streamUuid: 'acc-2' })), [
          'src-a/acc-2/1',
        ]);

        await store.deleteSnapshot('src-a', 'acc-1', 7);
        assert.equal((await store.readSnapshot('src-a', 'acc-1', 0)).version, 3);
        await rejectsWith(store.deleteSnapshot('src-a', 'acc-1', 7), 'not_found');
      }));

    it('refuses to delete version 0 (the latest, for reads only), naming version, and deletes nothing', () =>
      withStore(f, async (store) => {
        await store.recordSnapshot({ sourceUuid: 'src', streamUuid: 'st', version: 1, data: { n: 1 } });
        await store.recordSnapshot({ sourceUuid: 'src', streamUuid: 'st', version: 3, data: { n: 3 } });
        await rejectsWith(store.deleteSnapshot('src', 'st', 0), 'invalid_argument', 'version');
        await rejectsWith(store.deleteSnapshot('src', 'none', 0), 'invalid_argument', 'version');
        assert.deepEqual(
          (await store.listSnapshots()).map((s) => s.version),
          [1, 3],
        );
      }));

    it('replaces a snapshot recorded again at the same version', () =>
      withStore(f, async (store) => {
        await store.recordSnapshot({ sourceUuid: 's', streamUuid: 'x', version: 1, data: { v: 'old' } });
        await store.recordSnapshot({ sourceUuid: 's', streamUuid: 'x', version: 1, data: { v: 'new' } });
        assert.deepEqual((await store.readSnapshot('s', 'x', 1)).data, { v: 'new' });
        assert.equal((await store.listSnapshots()).length, 1);
      }));

    it('rejects bad snapshots, naming the field', () =>
      withStore(f, async (store) => {
        const ok = { sourceUuid: 's', streamUuid: 'x', version: 1, data: {} };
        await rejectsWith(store.recordSnapshot({ ...ok, version: 0 }), 'invalid_argument', 'snapshot.version');
        await rejectsWith(store.recordSnapshot({ ...ok, sourceUuid: '' }), 'invalid_argument', 'snapshot.sourceUuid');
        await rejectsWith(store.recordSnapshot({ ...ok, data: undefined }), 'invalid_argument', 'snapshot.data');
        await rejectsWith(
          store.recordSnapshot({ ...ok, metadata: [] as unknown as Record<string, unknown> }),
          'invalid_argument',
          'snapshot.metadata',
        );
        await rejectsWith(store.readSnapshot('s', 'x', -1), 'invalid_argument', 'version');
        assert.deepEqual(await store.listSnapshots(), []);
      }));
  });

  describe('subscription records', () => {
    const spec: SubscriptionSpec = { type: 'by_event_type', selector: 'OrderPlaced', name: 'orders' };

    it('saves with defaults, idempotently for the same definition, defaults omitted or spelled out', () =>
      withStore(f, async (store) => {
        const saved = await store.saveSubscription(spec);
        assert.deepEqual(
          { ...saved, createdAt: undefined },
          {
            type: 'by_event_type',
            selector: 'OrderPlaced',
            name: 'orders',
            startFrom: 0,
            options: {
              ackTimeoutMs: ACK_TIMEOUT_MS,
              maxDeliveries: MAX_DELIVERIES,
              maxInFlight: MAX_IN_FLIGHT,
              tagMatch: TAG_MATCH,
            },
            checkpoint: -1,
            createdAt: undefined,
          },
        );
        // The defaults spelled out are the same definition as the defaults omitted.
        const explicit: SubscriptionSpec = {
          ...spec,
          startFrom: 0,
          options: { tagMatch: TAG_MATCH, maxInFlight: MAX_IN_FLIGHT, maxDeliveries: MAX_DELIVERIES, ackTimeoutMs: ACK_TIMEOUT_MS },
        };
        assert.deepEqual(await store.saveSubscription(explicit), saved);
        assert.deepEqual(await store.saveSubscription({ ...spec, options: {} }), saved);
        assert.deepEqual(await store.getSubscription('orders'), saved);
        assert.deepEqual(await store.listSubscriptions(), [saved]);
        assert.equal(await store.getSubscription('other'), undefined);
      }));

    it('keeps the given start and options', () =>
      withStore(f, async (store) => {
        const saved = await store.saveSubscription({
          type: 'by_tags',
          selector: ['a', 'b'],
          name: 'tagged',
          startFrom: 12,
          options: { ackTimeoutMs: 500, maxDeliveries: 2, maxInFlight: 7, tagMatch: 'all' },
        });
        assert.equal(saved.startFrom, 12);
        assert.deepEqual(saved.selector, ['a', 'b']);
        assert.deepEqual(saved.options, { ackTimeoutMs: 500, maxDeliveries: 2, maxInFlight: 7, tagMatch: 'all' });
      }));

    it('is a conflict to reuse a name with another type or selector', () =>
      withStore(f, async (store) => {
        await store.saveSubscription(spec);
        await rejectsWith(store.saveSubscription({ ...spec, selector: 'OrderPaid' }), 'conflict');
        await rejectsWith(store.saveSubscription({ ...spec, type: 'by_stream', selector: 'OrderPlaced' }), 'conflict');
        assert.equal((await store.listSubscriptions()).length, 1);
      }));

    it('is a conflict to save a name again with another startFrom or options, and changes nothing', () =>
      withStore(f, async (store) => {
        const tagged: SubscriptionSpec = {
          type: 'by_tags',
          selector: ['a', 'b'],
          name: 'tagged',
          startFrom: 3,
          options: { tagMatch: 'all', ackTimeoutMs: 1_000 },
        };
        const saved = await store.saveSubscription(tagged);
        assert.deepEqual(await store.saveSubscription({ ...tagged, options: { ackTimeoutMs: 1_000, tagMatch: 'all' } }), saved);
        const startFrom = await rejectsWith(store.saveSubscription({ ...tagged, startFrom: 5 }), 'conflict');
        assert.match(startFrom.message, /startFrom 3/);
        assert.doesNotMatch(startFrom.message, /options/);
        const tagMatch = await rejectsWith(
          store.saveSubscription({ ...tagged, options: { tagMatch: 'any', ackTimeoutMs: 1_000 } }),
          'conflict',
        );
        assert.match(tagMatch.message, /options .*"tagMatch":"all"/);
        assert.doesNotMatch(tagMatch.message, /startFrom/);
        await rejectsWith(store.saveSubscription({ ...tagged, options: { tagMatch: 'all' } }), 'conflict');
        await rejectsWith(store.saveSubscription({ ...tagged, options: { tagMatch: 'all', ackTimeoutMs: 1_000, maxInFlight: 1 } }), 'conflict');
        const both = await rejectsWith(store.saveSubscription({ ...tagged, startFrom: 0, options: undefined }), 'conflict');
        assert.match(both.message, /startFrom 3 and options/);
        assert.deepEqual(await store.listSubscriptions(), [saved]);
      }));

    it('compares payload selectors by meaning, not key order', () =>
      withStore(f, async (store) => {
        const a = await store.saveSubscription({
          type: 'by_event_payload',
          selector: { kind: 'x', nested: { b: 1, a: 2 } },
          name: 'payload',
        });
        const b = await store.saveSubscription({
          type: 'by_event_payload',
          selector: { nested: { a: 2, b: 1 }, kind: 'x' },
          name: 'payload',
        });
        assert.deepEqual(b, a);
        await store.removeSubscription('by_event_payload', { nested: { b: 1, a: 2 }, kind: 'x' }, 'payload');
        assert.deepEqual(await store.listSubscriptions(), []);
      }));

    it(`refuses a payload selector nested over ${PAYLOAD_SELECTOR_DEPTH_MAX} levels as invalid, however deep`, () =>
      withStore(f, async (store) => {
        const nested = (depth: number): Record<string, unknown> => {
          let value: unknown = [1];
          for (let i = 1; i < depth; i++) value = { a: value };
          return value as Record<string, unknown>;
        };
        // From about 3,000 to 4,500 levels, plain JSON text of the selector passed and its sorted form (when saving)
        // ran out of stack: `internal`. Deeper, plain JSON failed too: `invalid_argument`.
        for (const depth of [PAYLOAD_SELECTOR_DEPTH_MAX + 1, 3_000, 3_500, 4_000, 4_500, 100_000]) {
          const selector = nested(depth);
          const name = `deep-${depth}`;
          await rejectsWith(store.saveSubscription({ type: 'by_event_payload', selector, name }), 'invalid_argument', 'spec.selector');
          await rejectsWith(store.removeSubscription('by_event_payload', selector, name), 'invalid_argument', 'selector');
        }
        assert.deepEqual(await store.listSubscriptions(), []);
        const deepest = nested(PAYLOAD_SELECTOR_DEPTH_MAX);
        const saved = await store.saveSubscription({ type: 'by_event_payload', selector: deepest, name: 'deepest' });
        assert.deepEqual(saved.selector, deepest);
        await store.removeSubscription('by_event_payload', deepest, 'deepest');
        assert.deepEqual(await store.listSubscriptions(), []);
      }));

    it('removes a subscription with its checkpoint and parked events', () =>
      withStore(f, async (store) => {
        await store.saveSubscription(spec);
        await store.saveCheckpoint('orders', 4);
        await store.parkEvent({
          subscription: 'orders',
          position: 2,
          eventId: 'e-2',
          streamId: 's',
          deliveries: 5,
          reason: 'max deliveries',
        });
        await rejectsWith(store.removeSubscription('by_event_type', 'OrderPaid', 'orders'), 'not_found');
        await rejectsWith(store.removeSubscription('by_stream', 'OrderPlaced', 'orders'), 'not_found');
        await store.removeSubscription('by_event_type', 'OrderPlaced', 'orders');
        assert.equal(await store.getSubscription('orders'), undefined);
        await rejectsWith(store.removeSubscription('by_event_type', 'OrderPlaced', 'orders'), 'not_found');

        const again = await store.saveSubscription(spec);
        assert.equal(again.checkpoint, -1);
        assert.deepEqual(await store.listParked('orders'), []);
      }));

    it('writes a checkpoint or a park for the subscription created at createdAt only, not one saved again', () =>
      withStore(f, async (store) => {
        const first = await store.saveSubscription(spec);
        await store.saveCheckpoint('orders', 2, first.createdAt);
        const parked = { subscription: 'orders', position: 1, eventId: 'e-1', streamId: 's', deliveries: 5, reason: 'r' };
        await store.parkEvent(parked, first.createdAt);
        await store.removeSubscription('by_event_type', 'OrderPlaced', 'orders');
        await new Promise((r) => setTimeout(r, 2)); // another creation time
        const second = await store.saveSubscription({ ...spec, selector: 'OrderPaid' });
        assert.notEqual(second.createdAt, first.createdAt);
        // Writes of the first one's deliverer, arriving late: refused, the second one untouched.
        await rejectsWith(store.saveCheckpoint('orders', 9, first.createdAt), 'not_found');
        await rejectsWith(store.parkEvent({ ...parked, position: 7 }, first.createdAt), 'not_found');
        assert.equal((await store.getSubscription('orders'))?.checkpoint, -1);
        assert.deepEqual(await store.listParked('orders'), []);
        await store.saveCheckpoint('orders', 3, second.createdAt);
        await store.parkEvent(parked, second.createdAt);
        assert.equal((await store.getSubscription('orders'))?.checkpoint, 3);
        await rejectsWith(store.saveCheckpoint('orders', 4, 'yesterday'), 'invalid_argument', 'createdAt');
        await rejectsWith(store.parkEvent(parked, '2026-01-01T00:00:00Z'), 'invalid_argument', 'createdAt');
      }));

    it('moves checkpoints forward only', () =>
      withStore(f, async (store) => {
        await store.saveSubscription(spec);
        await store.saveCheckpoint('orders', 5);
        await store.saveCheckpoint('orders', 3);
        assert.equal((await store.getSubscription('orders'))?.checkpoint, 5);
        await store.saveCheckpoint('orders', 8);
        assert.equal((await store.getSubscription('orders'))?.checkpoint, 8);
        await rejectsWith(store.saveCheckpoint('nobody', 1), 'not_found');
        await rejectsWith(store.saveCheckpoint('orders', -1), 'invalid_argument', 'position');
      }));

    it('parks, lists and unparks events', () =>
      withStore(f, async (store) => {
        await store.saveSubscription(spec);
        const park = (position: number, deliveries = 5) =>
          store.parkEvent({
            subscription: 'orders',
            position,
            eventId: `e-${position}`,
            streamId: 's',
            deliveries,
            reason: 'handler failed',
          });
        await park(9);
        await park(2);
        await park(5);
        await park(2, 6);
        const parked = await store.listParked('orders');
        assert.deepEqual(
          parked.map((p) => [p.position, p.eventId, p.deliveries]),
          [
            [2, 'e-2', 6],
            [5, 'e-5', 5],
            [9, 'e-9', 5],
          ],
        );
        assert.ok(parked.every((p) => p.subscription === 'orders' && Number.isFinite(Date.parse(p.parkedAt))));

        const some = await store.unparkEvents('orders', [9, 2, 77]);
        assert.deepEqual(
          some.map((p) => p.position),
          [2, 9],
        );
        assert.deepEqual(
          (await store.listParked('orders')).map((p) => p.position),
          [5],
        );
        await park(11);
        assert.deepEqual(
          (await store.unparkEvents('orders')).map((p) => p.position),
          [5, 11],
        );
        assert.deepEqual(await store.listParked('orders'), []);
        await rejectsWith(store.listParked('nobody'), 'not_found');
      }));

    it('rejects bad specs, naming the field', () =>
      withStore(f, async (store) => {
        const bad = (s: unknown) => store.saveSubscription(s as SubscriptionSpec);
        await rejectsWith(bad({ ...spec, type: 'by_mood' }), 'invalid_argument', 'spec.type');
        await rejectsWith(bad({ ...spec, name: '' }), 'invalid_argument', 'spec.name');
        await rejectsWith(bad({ ...spec, name: 'n'.repeat(257) }), 'invalid_argument', 'spec.name');
        await rejectsWith(bad({ type: 'by_tags', selector: [], name: 't' }), 'invalid_argument', 'spec.selector');
        await rejectsWith(bad({ type: 'by_stream', selector: '$nope', name: 't' }), 'invalid_argument', 'spec.selector');
        await rejectsWith(bad({ type: 'by_event_payload', selector: 'x', name: 't' }), 'invalid_argument', 'spec.selector');
        await rejectsWith(bad({ ...spec, startFrom: -1 }), 'invalid_argument', 'spec.startFrom');
        await rejectsWith(bad({ ...spec, options: { maxInFlight: 0 } }), 'invalid_argument', 'spec.options.maxInFlight');
        await rejectsWith(bad({ ...spec, options: { ackTimeoutMs: 1.5 } }), 'invalid_argument', 'spec.options.ackTimeoutMs');
        await rejectsWith(bad({ ...spec, options: { colour: 'red' } }), 'invalid_argument', 'spec.options.colour');
        assert.deepEqual(await store.listSubscriptions(), []);
        const all = await store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'everything' });
        assert.equal(all.selector, '$all');
      }));
  });
}
