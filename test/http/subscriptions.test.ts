/**
 * Persistent subscriptions over HTTP against the real gateway: CRUD (both transports), the SSE delivery session with
 * acks moving the durable checkpoint, redelivery to the next session, and parked events.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, SseReader, startHarness, TRANSPORTS, type Harness, type Request } from './harness.ts';

const S = '/v1/stores/default';

for (const transport of TRANSPORTS) {
  describe(`subscriptions CRUD (${transport})`, () => {
    let h: Harness;
    let req: Request;

    before(async () => {
      h = await startHarness();
      req = h.request[transport];
    });
    after(() => h.close());

    test('save is idempotent; get, list and delete by name', async () => {
      const spec = { type: 'by_event_type', selector: 'OrderPlaced', startFrom: 0, options: { maxDeliveries: 3 } };
      const saved = await req('PUT', `${S}/subscriptions/orders`, { json: spec });
      assert.equal(saved.status, 200, saved.text);
      const { subscription } = saved.body;
      assert.equal(subscription.name, 'orders');
      assert.equal(subscription.type, 'by_event_type');
      assert.equal(subscription.selector, 'OrderPlaced');
      assert.equal(subscription.options.maxDeliveries, 3);
      assert.equal(subscription.checkpoint, -1);

      const again = await req('PUT', `${S}/subscriptions/orders`, { json: spec });
      assert.equal(again.status, 200);
      assert.deepEqual(again.body.subscription, subscription);
      const changed = await req('PUT', `${S}/subscriptions/orders`, { json: { ...spec, options: { maxDeliveries: 4 } } });
      assert.equal(changed.status, 409, changed.text);
      assert.equal(changed.body.error.code, 'conflict');
      assert.match(changed.body.error.message, /options .*"maxDeliveries":3/);

      await req('PUT', `${S}/subscriptions/payload`, {
        json: { type: 'by_event_payload', selector: { region: 'eu', total: { $exists: true } } },
      });
      await req('PUT', `${S}/subscriptions/tagged`, { json: { type: 'by_tags', selector: ['a', 'b'], options: { tagMatch: 'all' } } });

      const one = await req('GET', `${S}/subscriptions/orders`);
      assert.deepEqual(one.body.subscription, subscription);
      const list = await req('GET', `${S}/subscriptions`);
      assert.deepEqual(list.body.subscriptions.map((s: any) => s.name).sort(), ['orders', 'payload', 'tagged']);

      const removed = await req('DELETE', `${S}/subscriptions/orders`);
      assert.equal(removed.status, 204);
      const gone = await req('GET', `${S}/subscriptions/orders`);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.error.code, 'not_found');
      assert.equal((await req('DELETE', `${S}/subscriptions/orders`)).status, 404);
      assert.deepEqual((await req('GET', `${S}/subscriptions`)).body.subscriptions.map((s: any) => s.name).sort(), ['payload', 'tagged']);
    });

    test('routes that take no body accept an empty one labelled JSON; those that need one still refuse it', async () => {
      const empty = { raw: '', headers: { 'content-type': 'application/json' } };
      assert.equal((await req('PUT', `${S}/subscriptions/bodiless`, { json: { type: 'by_stream', selector: '$all' } })).status, 200);
      const replay = await req('POST', `${S}/subscriptions/bodiless/parked/replay`, empty);
      assert.equal(replay.status, 200, replay.text);
      assert.deepEqual(replay.body, { replayed: 0 });
      const removed = await req('DELETE', `${S}/subscriptions/bodiless`, empty);
      assert.equal(removed.status, 204, removed.text);
      assert.equal((await req('POST', `${S}/streams/bodiless/events`, { json: { events: [{ eventType: 'A' }] } })).status, 200);
      const deleted = await req('DELETE', `${S}/streams/bodiless`, empty);
      assert.equal(deleted.status, 204, deleted.text);
      const append = await req('POST', `${S}/streams/bodiless/events`, empty);
      assert.equal(append.status, 400, append.text);
      assert.equal(append.body.error.field, 'body');
      const ack = await req('POST', `${S}/subscriptions/bodiless/ack`, empty);
      assert.equal(ack.status, 400, ack.text);
      assert.equal(ack.body.error.field, 'body');
    });

    test('acks, parked and events of an unknown subscription are 404 JSON errors', async () => {
      for (const [method, path, json] of [
        ['POST', `${S}/subscriptions/nope/ack`, { positions: [0] }],
        ['GET', `${S}/subscriptions/nope/parked`, undefined],
        ['POST', `${S}/subscriptions/nope/parked/replay`, undefined],
        ['GET', `${S}/subscriptions/nope/events`, undefined],
      ] as const) {
        const res = await req(method, path, json === undefined ? {} : { json });
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
        assert.match(res.headers['content-type'] ?? '', /^application\/json/);
        assert.equal(res.body.error.code, 'not_found');
      }
    });
  });
}

describe('persistent subscription sessions over SSE', () => {
  let h: Harness;
  let req: Request;

  before(async () => {
    h = await startHarness();
    req = h.request.fetch;
  });
  after(() => h.close());

  const append = async (stream: string, events: unknown[]) => {
    const res = await req('POST', `${S}/streams/${stream}/events`, { json: { events } });
    assert.equal(res.status, 200, res.text);
    return res.body as { version: number; position: number };
  };

  test('history then live events in order; acks move the checkpoint; the next session resumes after it', async () => {
    await append('cart-1', [{ eventType: 'Added', data: { n: 0 } }, { eventType: 'Added', data: { n: 1 } }]);
    await append('other', [{ eventType: 'Noise' }]);
    const saved = await req('PUT', `${S}/subscriptions/carts`, { json: { type: 'by_event_pattern', selector: 'cart-*' } });
    assert.equal(saved.status, 200, saved.text);

    const stream = await SseReader.open(`${h.url}${S}/subscriptions/carts/events`);
    try {
      assert.equal(stream.response.status, 200);
      assert.match(stream.response.headers.get('content-type') ?? '', /^text\/event-stream/);
      const history = await stream.take(2);
      await append('cart-2', [{ eventType: 'Added', data: { n: 2 } }]);
      const live = await stream.next();
      const all = [...history, live];
      assert.deepEqual(all.map((m) => m.data.event.data.n), [0, 1, 2]);
      for (const m of all) {
        assert.equal(m.event, 'event');
        assert.equal(m.id, String(m.data.event.position));
        assert.equal(m.data.attempt, 1);
      }

      const ack = await req('POST', `${S}/subscriptions/carts/ack`, { json: { positions: [all[0]!.data.event.position, all[1]!.data.event.position] } });
      assert.equal(ack.status, 200, ack.text);
      assert.deepEqual(ack.body, { checkpoint: all[1]!.data.event.position });
      assert.equal((await req('GET', `${S}/subscriptions/carts`)).body.subscription.checkpoint, all[1]!.data.event.position);
    } finally {
      stream.close();
    }

    // The unacknowledged third event is the first thing the next session receives; the acknowledged ones never return.
    const next = await SseReader.open(`${h.url}${S}/subscriptions/carts/events`);
    try {
      const first = await next.next();
      assert.equal(first.data.event.data.n, 2);
      await append('cart-3', [{ eventType: 'Added', data: { n: 3 } }]);
      const then = await next.next();
      assert.equal(then.data.event.data.n, 3);
    } finally {
      next.close();
    }
  });

  test('an event never acknowledged is parked after its deliveries, listed, and replayed on request', async () => {
    await req('PUT', `${S}/subscriptions/parking`, {
      json: { type: 'by_stream', selector: 'park-me', options: { ackTimeoutMs: 50, maxDeliveries: 2 } },
    });
    const { position } = await append('park-me', [{ eventType: 'Fragile' }]);
    const stream = await SseReader.open(`${h.url}${S}/subscriptions/parking/events`);
    try {
      const attempts = await stream.take(2);
      assert.deepEqual(attempts.map((m) => [Number(m.id), m.data.attempt]), [
        [position, 1],
        [position, 2],
      ]);
      let parked: any[] = [];
      assert.ok(
        await eventually(async () => {
          parked = (await req('GET', `${S}/subscriptions/parking/parked`)).body.parked;
          return parked.length === 1;
        }),
        'the event is parked',
      );
      assert.equal(parked[0].position, position);
      assert.equal(parked[0].streamId, 'park-me');

      const replay = await req('POST', `${S}/subscriptions/parking/parked/replay`);
      assert.equal(replay.status, 200, replay.text);
      assert.deepEqual(replay.body, { replayed: 1 });
      const redelivered = await stream.next();
      assert.equal(Number(redelivered.id), position);
    } finally {
      stream.close();
    }
  });

  test('a second session replaces the first, whose stream then ends', async () => {
    await req('PUT', `${S}/subscriptions/single`, { json: { type: 'by_stream', selector: '$all' } });
    const first = await SseReader.open(`${h.url}${S}/subscriptions/single/events`);
    const second = await SseReader.open(`${h.url}${S}/subscriptions/single/events`);
    try {
      // It says why, so that its client does not reconnect to take the session back.
      let last = await first.next();
      for (let i = 0; last.event === 'event' && i < 1_000; i++) last = await first.next(); // history it was sent
      assert.deepEqual([last.event, last.data], ['end', { reason: 'replaced' }]);
      assert.equal(await first.waitForEnd(), true);
      await append('single-1', [{ eventType: 'X' }]);
      const seen = await second.next();
      assert.equal(seen.event, 'event');
    } finally {
      first.close();
      second.close();
    }
  });
});
