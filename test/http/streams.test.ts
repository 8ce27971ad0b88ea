/**
 * Streams, stores, `$all`, queries by type and tag, and snapshots over HTTP against the real gateway and SQLite
 * stores, once through `inject()` and once through a real socket.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startHarness, TRANSPORTS, type Harness, type Request } from './harness.ts';

for (const transport of TRANSPORTS) {
  describe(`streams over HTTP (${transport})`, () => {
    let h: Harness;
    let req: Request;
    const base = '/v1/stores/default';

    before(async () => {
      h = await startHarness();
      req = h.request[transport];
    });
    after(() => h.close());

    const append = (stream: string, json: unknown, headers?: Record<string, string>) =>
      req('POST', `${base}/streams/${encodeURIComponent(stream)}/events`, { json, ...(headers ? { headers } : {}) });

    test('append then read back, forward and backward, from a version with a count', async () => {
      const first = await append('order-1', { events: [{ eventType: 'Placed', data: { total: 10 }, tags: ['eu'] }] });
      assert.equal(first.status, 200);
      assert.equal(first.body.version, 0);
      assert.equal(typeof first.body.position, 'number');

      const more = await append('order-1', {
        events: [
          { eventType: 'Paid', data: { amount: 10 }, metadata: { correlationId: 'c-1' } },
          { eventType: 'Shipped', data: null },
        ],
        expectedVersion: 0,
      });
      assert.equal(more.status, 200);
      assert.deepEqual(more.body, { version: 2, position: first.body.position + 2 });

      const all = await req('GET', `${base}/streams/order-1/events`);
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.events.map((e: any) => [e.version, e.eventType, e.streamId]),
        [
          [0, 'Placed', 'order-1'],
          [1, 'Paid', 'order-1'],
          [2, 'Shipped', 'order-1'],
        ],
      );
      assert.deepEqual(all.body.events[0].data, { total: 10 });
      assert.deepEqual(all.body.events[0].tags, ['eu']);
      assert.equal(all.body.events[1].metadata.correlationId, 'c-1');

      const page = await req('GET', `${base}/streams/order-1/events?from=1&count=1`);
      assert.deepEqual(page.body.events.map((e: any) => e.version), [1]);

      const backward = await req('GET', `${base}/streams/order-1/events?direction=backward`);
      assert.deepEqual(backward.body.events.map((e: any) => e.version), [2, 1, 0]);
      const backwardFrom = await req('GET', `${base}/streams/order-1/events?direction=backward&from=1&count=5`);
      assert.deepEqual(backwardFrom.body.events.map((e: any) => e.version), [1, 0]);
    });

    test('event data with keys named __proto__ and constructor is stored and read back as data, polluting nothing', async () => {
      const data = '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"n":[{"__proto__":null}]}';
      const appended = await req('POST', `${base}/streams/proto-1/events`, {
        raw: `{"events":[{"eventType":"Odd","data":${data},"metadata":{"__proto__":{"polluted":3}}}]}`,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(appended.status, 200, JSON.stringify(appended.body));
      const read = await req('GET', `${base}/streams/proto-1/events`);
      assert.equal(JSON.stringify(read.body.events[0].data), data);
      assert.equal(JSON.stringify(read.body.events[0].metadata), '{"__proto__":{"polluted":3}}');
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype in this process was touched');
    });

    test('a wrong expected version is a 409 carrying the current version, and nothing is written', async () => {
      await append('order-2', { events: [{ eventType: 'A' }, { eventType: 'B' }] });
      for (const expectedVersion of [0, 5, 'no_stream', -1]) {
        const res = await append('order-2', { events: [{ eventType: 'C' }], expectedVersion });
        assert.equal(res.status, 409, `expectedVersion ${expectedVersion}`);
        assert.equal(res.body.error.code, 'wrong_expected_version');
        assert.equal(res.body.error.currentVersion, 1);
        assert.match(res.body.error.message, /order-2/);
      }
      const missing = await append('order-2-missing', { events: [{ eventType: 'C' }], expectedVersion: 'stream_exists' });
      assert.equal(missing.status, 409);
      assert.equal(missing.body.error.currentVersion, -1);

      assert.equal((await req('GET', `${base}/streams/order-2/version`)).body.version, 1);
      assert.equal((await req('GET', `${base}/streams/order-2-missing/version`)).body.version, -1);
      assert.equal((await req('GET', `${base}/streams/order-2/events`)).body.events.length, 2);

      const right = await append('order-2', { events: [{ eventType: 'C' }], expectedVersion: 1 });
      assert.equal(right.status, 200);
      assert.equal(right.body.version, 2);
      const any = await append('order-2', { events: [{ eventType: 'D' }], expectedVersion: 'any' });
      assert.equal(any.body.version, 3);
      const fresh = await append('order-2-new', { events: [{ eventType: 'A' }], expectedVersion: 'no_stream' });
      assert.equal(fresh.body.version, 0);
    });

    test('appending the same event ids again returns the first result and writes nothing', async () => {
      const events = [
        { eventId: randomUUID(), eventType: 'A' },
        { eventId: randomUUID(), eventType: 'B' },
      ];
      const first = await append('order-3', { events });
      const again = await append('order-3', { events });
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, first.body);
      assert.equal((await req('GET', `${base}/streams/order-3/events`)).body.events.length, 2);
    });

    test('version of a missing stream is -1; stream ids are URL-decoded', async () => {
      const missing = await req('GET', `${base}/streams/never-written/version`);
      assert.equal(missing.status, 200);
      assert.deepEqual(missing.body, { version: -1 });
      assert.deepEqual((await req('GET', `${base}/streams/never-written/events`)).body, { events: [] });

      const odd = 'tenant/42 €ü?#&';
      assert.equal((await append(odd, { events: [{ eventType: 'A' }] })).status, 200);
      const read = await req('GET', `${base}/streams/${encodeURIComponent(odd)}/events`);
      assert.equal(read.body.events[0].streamId, odd);
      assert.equal((await req('GET', `${base}/streams/${encodeURIComponent(odd)}/version`)).body.version, 0);
    });

    test('list streams, then delete one (204), which then reads as missing', async () => {
      await append('to-delete', { events: [{ eventType: 'A' }, { eventType: 'B' }] });
      const listed = await req('GET', `${base}/streams`);
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.body.streams.find((s: any) => s.streamId === 'to-delete'),
        { streamId: 'to-delete', version: 1 },
      );

      const deleted = await req('DELETE', `${base}/streams/to-delete`);
      assert.equal(deleted.status, 204);
      assert.equal(deleted.text, '');
      assert.equal((await req('GET', `${base}/streams/to-delete/version`)).body.version, -1);
      assert.equal((await req('GET', `${base}/streams`)).body.streams.some((s: any) => s.streamId === 'to-delete'), false);

      const again = await req('DELETE', `${base}/streams/to-delete`);
      assert.equal(again.status, 404);
      assert.equal(again.body.error.code, 'stream_not_found');
    });

    test('stores: the list with workers, and one store with its figures', async () => {
      const list = await req('GET', '/v1/stores');
      assert.equal(list.status, 200);
      assert.equal(list.body.stores.length, 1);
      const [store] = list.body.stores;
      assert.equal(store.store, 'default');
      assert.equal(store.workers.length, 1);
      assert.deepEqual(Object.keys(store.workers[0]).sort(), ['backend', 'nodeId', 'workerId']);
      assert.equal(store.workers[0].backend, 'sqlite');
      assert.equal(store.workers[0].nodeId, h.node.node.nodeId);

      await append('stats-1', { events: [{ eventType: 'A' }] });
      const one = await req('GET', `${base}`);
      assert.equal(one.status, 200);
      assert.equal(one.body.store, 'default');
      assert.equal(one.body.hasEvents, true);
      assert.deepEqual(one.body.workers, store.workers);
      const head = await h.api.readAll('default', 0, 10_000);
      assert.equal(one.body.lastPosition, head.events.at(-1)!.position);
      assert.equal(one.body.streamCount, (await h.api.getStreams('default')).length);
    });

    test('an unknown store is 503 no_workers; an unknown route is 404 not_found', async () => {
      const res = await req('GET', '/v1/stores/elsewhere/streams/x/version');
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'no_workers');
      assert.equal(res.body.error.store, 'elsewhere');
      const unknown = await req('GET', '/v1/nothing/here');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'not_found');
      assert.match(unknown.body.error.message, /\/v1\/nothing\/here/);
    });

    test('snapshots: record, read one and the latest, list by source and stream, delete', async () => {
      const path = (src: string, stream: string, v: number) => `${base}/snapshots/${src}/${stream}/${v}`;
      for (const v of [1, 5, 3]) {
        const put = await req('PUT', path('cart', 'cart-1', v), { json: { data: { items: v }, metadata: { by: 'test' } } });
        assert.equal(put.status, 200);
        assert.deepEqual(put.body, { recorded: true });
      }
      await req('PUT', path('cart', 'cart-2', 1), { json: { data: 'two' } });

      const three = await req('GET', path('cart', 'cart-1', 3));
      assert.equal(three.status, 200);
      assert.deepEqual(three.body.snapshot.data, { items: 3 });
      assert.deepEqual(three.body.snapshot.metadata, { by: 'test' });
      const latest = await req('GET', path('cart', 'cart-1', 0));
      assert.equal(latest.body.snapshot.version, 5);

      const bySource = await req('GET', `${base}/snapshots?sourceUuid=cart`);
      assert.equal(bySource.body.snapshots.length, 4);
      const byStream = await req('GET', `${base}/snapshots?sourceUuid=cart&streamUuid=cart-2`);
      assert.deepEqual(byStream.body.snapshots.map((s: any) => [s.streamUuid, s.version, s.data]), [['cart-2', 1, 'two']]);

      assert.equal((await req('DELETE', path('cart', 'cart-1', 5))).status, 204);
      const gone = await req('GET', path('cart', 'cart-1', 5));
      assert.equal(gone.status, 404);
      assert.equal(gone.body.error.code, 'not_found');
      assert.equal((await req('GET', path('cart', 'cart-1', 0))).body.snapshot.version, 3);
    });
  });

  describe(`reads across a store over HTTP (${transport})`, () => {
    let h: Harness;
    let req: Request;
    const base = '/v1/stores/default';
    const TOTAL = 23;

    before(async () => {
      h = await startHarness();
      req = h.request[transport];
      // Three streams interleaved; types and tags vary so queries select a known subset.
      for (let i = 0; i < TOTAL; i++) {
        const res = await req('POST', `${base}/streams/s-${i % 3}/events`, {
          json: { events: [{ eventType: i % 2 === 0 ? 'Even' : 'Odd', data: { i }, tags: i % 5 === 0 ? ['five', 'x'] : ['x'] }] },
        });
        assert.equal(res.status, 200);
      }
    });
    after(() => h.close());

    test('$all pages by position: following nextPosition visits every event once, in order', async () => {
      const seen: number[] = [];
      let from = 0;
      for (let pages = 0; pages < 20; pages++) {
        const res = await req('GET', `${base}/all?from=${from}&count=4`);
        assert.equal(res.status, 200);
        assert.ok(res.body.events.length <= 4);
        seen.push(...res.body.events.map((e: any) => e.data.i));
        assert.ok(res.body.nextPosition > from || res.body.events.length === 0);
        if (res.body.events.length === 0) break;
        from = res.body.nextPosition;
      }
      assert.deepEqual(seen, Array.from({ length: TOTAL }, (_, i) => i));
      const tail = await req('GET', `${base}/all?from=${from}`);
      assert.deepEqual(tail.body, { events: [], nextPosition: from });
      const defaults = await req('GET', `${base}/all`);
      assert.equal(defaults.body.events.length, TOTAL);
    });

    test('nextPosition never moves behind from, even from beyond the head', async () => {
      const far = await req('GET', `${base}/all?from=1000000000`);
      assert.equal(far.status, 200, far.text);
      assert.deepEqual(far.body, { events: [], nextPosition: 1000000000 });
      const none = await req('GET', `${base}/events?types=Nothing&from=300`);
      assert.equal(none.status, 200, none.text);
      assert.deepEqual(none.body, { events: [], nextPosition: 300 });
      // Within the written positions, a page with no match still moves on to the head.
      const scanned = await req('GET', `${base}/events?types=Nothing&from=2`);
      assert.deepEqual(scanned.body, { events: [], nextPosition: TOTAL });
    });

    test('events by type, by tags (any and all), and both, paged', async () => {
      const odd = await req('GET', `${base}/events?types=Odd`);
      assert.equal(odd.status, 200);
      assert.deepEqual(odd.body.events.map((e: any) => e.data.i), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21]);

      const both = await req('GET', `${base}/events?types=Odd,Even&count=5`);
      assert.equal(both.body.events.length, 5);
      const rest = await req('GET', `${base}/events?types=Odd,Even&from=${both.body.nextPosition}&count=100`);
      assert.equal(both.body.events.length + rest.body.events.length, TOTAL);

      const fiveAny = await req('GET', `${base}/events?tags=five,nope`);
      assert.deepEqual(fiveAny.body.events.map((e: any) => e.data.i), [0, 5, 10, 15, 20]);
      const fiveAll = await req('GET', `${base}/events?tags=five,nope&match=all`);
      assert.deepEqual(fiveAll.body.events, []);
      const fiveAndX = await req('GET', `${base}/events?tags=x,five&match=all`);
      assert.deepEqual(fiveAndX.body.events.map((e: any) => e.data.i), [0, 5, 10, 15, 20]);

      const oddFives = await req('GET', `${base}/events?types=Odd&tags=five`);
      assert.deepEqual(oddFives.body.events.map((e: any) => e.data.i), [5, 15]);
    });
  });
}
