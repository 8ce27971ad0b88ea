/**
 * GaterClient against a real node over real HTTP: every call of GaterApi answers what the gateway answers in process
 * (the same values, the same typed errors), subscriptions deliver in order with acks moving the checkpoint, deadlines
 * and aborts end calls, and an unreachable node is a clear `unavailable`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GaterClient } from '../../src/client/index.ts';
import {
  GaterError,
  InvalidArgumentError,
  NoWorkersError,
  NotFoundError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '../../src/errors/index.ts';
import type { SubscriptionSelector, SubscriptionType } from '../../src/store/types.ts';
import type { TestApi } from '../support/real-api.ts';
import { freePort } from '../support/gater-process.ts';
import { range, take, withRealNodeClient } from './support.ts';

const STORE = 'default';

describe('GaterClient over HTTP', () => {
  let node: TestApi;
  let client: GaterClient;

  withRealNodeClient((n, c) => {
    node = n;
    client = c;
  });

  it('appends, reads and lists exactly what the gateway does in process', async () => {
    const first = await client.appendEvents(STORE, 'greenhouse1', [
      { eventType: 'initialized:v1', data: { name: 'g1' }, tags: ['g1'] },
      { eventType: 'temperature_measured:v1', data: { temperature: 22 }, metadata: { correlationId: 'c1' } },
    ], { expectedVersion: 'no_stream' });
    assert.deepEqual(first, { version: 1, position: first.position });
    await client.appendEvents(STORE, 'greenhouse2', [{ eventType: 'humidity_measured:v1', data: { humidity: 65 } }]);

    assert.deepEqual(await client.getEvents(STORE, 'greenhouse1'), await node.api.getEvents(STORE, 'greenhouse1'));
    assert.deepEqual(
      await client.getEvents(STORE, 'greenhouse1', { direction: 'backward', count: 1 }),
      await node.api.getEvents(STORE, 'greenhouse1', { direction: 'backward', count: 1 }),
    );
    assert.equal(await client.getVersion(STORE, 'greenhouse1'), 1);
    assert.equal(await client.getVersion(STORE, 'nothing-here'), -1);
    assert.deepEqual(await client.getStreams(STORE), await node.api.getStreams(STORE));
    assert.deepEqual(await client.readAll(STORE, 0, 2), await node.api.readAll(STORE, 0, 2));
    assert.deepEqual(await client.readAll(STORE, 0, 100), await node.api.readAll(STORE, 0, 100));
    const byType = await client.readEvents(STORE, { types: ['humidity_measured:v1'] }, 0, 10);
    assert.deepEqual(byType, await node.api.readEvents(STORE, { types: ['humidity_measured:v1'] }, 0, 10));
    assert.deepEqual(byType.events.map((e) => e.streamId), ['greenhouse2']);
    const byTag = await client.readEvents(STORE, { tags: ['g1'], tagMatch: 'all' }, 0, 10);
    assert.deepEqual(byTag.events.map((e) => e.eventType), ['initialized:v1']);

    const details = await client.getStore(STORE);
    const inProcess = await node.api.getStore(STORE);
    assert.deepEqual({ ...details, workers: [] }, { ...inProcess, workers: [] });
    assert.deepEqual(details.workers.map((w) => w.workerId), inProcess.workers.map((w) => w.workerId));
    const stores = await client.listStores();
    assert.deepEqual(stores.map((s) => s.store), [STORE]);
    assert.equal(stores[0]!.workers[0]!.local, false);
  });

  it('gives every event an id, so an append sent twice writes once', async () => {
    const events = [{ eventType: 'fan_activated:v1', data: { intensity: 75 } }];
    await client.appendEvents(STORE, 'ids', events);
    const [recorded] = await client.getEvents(STORE, 'ids');
    assert.match(recorded!.eventId, /^[0-9a-f-]{36}$/);
    await client.appendEvents(STORE, 'ids', [{ ...events[0]!, eventId: recorded!.eventId }]);
    assert.equal(await client.getVersion(STORE, 'ids'), 0);
  });

  it('rebuilds the typed errors of the gateway', async () => {
    await assert.rejects(
      client.appendEvents(STORE, 'greenhouse1', [{ eventType: 'x' }], { expectedVersion: 7 }),
      (err: unknown) => err instanceof WrongExpectedVersionError && err.currentVersion === 1 && err.code === 'wrong_expected_version',
    );
    await assert.rejects(
      client.appendEvents(STORE, 'greenhouse1', [{ eventType: '' }]),
      (err: unknown) => err instanceof InvalidArgumentError && err.data['field'] === 'events[0].eventType',
    );
    await assert.rejects(
      client.deleteStream(STORE, 'missing'),
      (err: unknown) => err instanceof StreamNotFoundError && err.code === 'stream_not_found' && err.data['streamId'] === 'missing',
    );
    await assert.rejects(client.getSubscription(STORE, 'nope'), (err: unknown) => err instanceof NotFoundError && err.code === 'not_found');
    await assert.rejects(client.getVersion('no-such-store', 's'), (err: unknown) => err instanceof NoWorkersError && err.data['store'] === 'no-such-store');
    await assert.rejects(client.getVersion(STORE, 's', { deadlineMs: 0 }), { code: 'invalid_argument' });
  });

  it('records, reads, lists and deletes snapshots', async () => {
    const snapshot = { sourceUuid: 'src-1', streamUuid: 'greenhouse1', version: 2, data: { temperature: 22 }, metadata: { by: 'test' } };
    await client.recordSnapshot(STORE, snapshot);
    const read = await client.readSnapshot(STORE, 'src-1', 'greenhouse1', 0);
    assert.deepEqual(read, await node.api.readSnapshot(STORE, 'src-1', 'greenhouse1', 0));
    assert.deepEqual(read.data, { temperature: 22 });
    assert.equal((await client.listSnapshots(STORE, { sourceUuid: 'src-1' })).length, 1);
    await client.deleteSnapshot(STORE, 'src-1', 'greenhouse1', 2);
    await assert.rejects(client.readSnapshot(STORE, 'src-1', 'greenhouse1', 0), { code: 'not_found' });
  });

  it('observes live events in order, only those selected', async () => {
    const sub = await client.observe(STORE, { type: 'by_event_type', selector: 'light_measured:v1' });
    assert.equal(sub.state, 'open');
    for (const i of range(0, 5)) {
      await client.appendEvents(STORE, `light-${i % 2}`, [
        { eventType: 'light_measured:v1', data: { light: i } },
        { eventType: 'fan_activated:v1', data: { intensity: i } },
      ]);
    }
    const got = await take(sub, 5);
    sub.close();
    assert.deepEqual(got.map((d) => d.event.data), range(0, 5).map((light) => ({ light })));
    assert.ok(got.every((d) => d.event.eventType === 'light_measured:v1'));
    assert.equal(await sub.ended, 'closed');

    const john = await client.observe(STORE, { type: 'by_event_payload', selector: { operator: 'John', temperature: { $exists: true } } });
    await client.appendEvents(STORE, 'ops', [
      { eventType: 'desired_temperature_set:v1', data: { operator: 'Mary', temperature: 20 } },
      { eventType: 'desired_humidity_set:v1', data: { operator: 'John', humidity: 60 } },
      { eventType: 'desired_temperature_set:v1', data: { operator: 'John', temperature: 25 } },
    ]);
    const [seen] = await take(john, 1);
    john.close();
    assert.deepEqual(seen!.event.data, { operator: 'John', temperature: 25 });
  });

  it('delivers a persistent subscription from its start, and acks move the checkpoint', async () => {
    const head = (await client.getStore(STORE)).lastPosition;
    await client.appendEvents(STORE, 'sub-stream', range(0, 4).map((i) => ({ eventType: 'light_measured:v1', data: { light: i } })));
    const record = await client.saveSubscription(STORE, { type: 'by_stream', selector: 'sub-stream', name: 'lights' });
    assert.equal(record.checkpoint, -1);
    assert.deepEqual((await client.getSubscriptions(STORE)).map((s) => s.name), ['lights']);
    const sub = await client.subscribe(STORE, 'lights');
    const got = await take(sub, 4, 15_000, async (d) => {
      await sub.ack(d.event.position);
    });
    assert.deepEqual(got.map((d) => d.event.version), [0, 1, 2, 3]);
    assert.ok(got.every((d) => d.event.position > head && d.attempt === 1));
    assert.equal((await client.getSubscription(STORE, 'lights')).checkpoint, got[3]!.event.position);
    assert.deepEqual(await client.listParked(STORE, 'lights'), []);
    assert.deepEqual(await client.replayParked(STORE, 'lights'), { replayed: 0 });
    sub.close();
    await assert.rejects(client.removeSubscription(STORE, 'by_stream', 'other-stream', 'lights'), { code: 'not_found' });
    await client.removeSubscription(STORE, 'by_stream', 'sub-stream', 'lights');
    await assert.rejects(client.subscribe(STORE, 'lights'), { code: 'not_found' });
  });

  it('a persistent subscription taken over by a second consumer ends the first with conflict; it does not take it back', async () => {
    await client.saveSubscription(STORE, { type: 'by_stream', selector: 'takeover', name: 'takeover' });
    const states: string[] = [];
    const first = await client.subscribe(STORE, 'takeover', { onStateChange: (state) => states.push(state) });
    await client.appendEvents(STORE, 'takeover', [{ eventType: 'one' }]);
    const [d1] = await take(first, 1);
    await first.ack(d1!.event.position);
    const second = await client.subscribe(STORE, 'takeover');
    try {
      // Bounded: without the node's reason, the first reconnected, took the session back and waited on.
      const within = (ms: number) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref());
      await assert.rejects(Promise.race([first.next(), within(10_000)]), { code: 'conflict' });
      assert.equal(await first.ended, 'replaced');
      assert.ok(!states.includes('reconnecting'), `the first never reconnected (${states.join(', ')})`);
      await client.appendEvents(STORE, 'takeover', [{ eventType: 'two' }, { eventType: 'three' }]);
      const got = await take(second, 2);
      assert.deepEqual(got.map((d) => [d.event.eventType, d.attempt]), [['two', 1], ['three', 1]], 'the second keeps its session');
    } finally {
      first.close();
      second.close();
    }
    // Removed while a consumer reads: it ends with not_found.
    const third = await client.subscribe(STORE, 'takeover');
    await client.removeSubscription(STORE, 'by_stream', 'takeover', 'takeover');
    await assert.rejects(async () => {
      for (;;) await third.next();
    }, { code: 'not_found' });
  });

  it('removes a subscription by any selector the store takes for the saved one, as the gateway does in process', async () => {
    const cases: { type: SubscriptionType; saved: SubscriptionSelector; asked: SubscriptionSelector; removed: boolean }[] = [
      { type: 'by_tags', saved: ['a', 'a', 'b'], asked: ['a', 'a', 'b'], removed: true },
      { type: 'by_tags', saved: ['a', 'b'], asked: ['a', 'b', 'b'], removed: true },
      { type: 'by_tags', saved: ['a', 'b'], asked: ['b', 'a'], removed: false },
      { type: 'by_event_payload', saved: { z: 1, a: { y: 2, b: 3 } }, asked: { z: 1, a: { y: 2, b: 3 } }, removed: true },
      { type: 'by_event_payload', saved: { z: 1, a: { y: 2, b: 3 } }, asked: { a: { b: 3, y: 2 }, z: 1 }, removed: true },
      { type: 'by_stream', saved: '$all', asked: '$all', removed: true },
    ];
    for (const [i, { type, saved, asked, removed }] of cases.entries()) {
      const outcome = async (remove: (name: string) => Promise<void>, name: string): Promise<string> => {
        await client.saveSubscription(STORE, { type, selector: saved, name });
        return remove(name).then(() => 'removed', (err: unknown) => (err as GaterError).code);
      };
      const overHttp = await outcome((name) => client.removeSubscription(STORE, type, asked, name), `rm-http-${i}`);
      const inProcess = await outcome((name) => node.api.removeSubscription(STORE, type, asked, name), `rm-gateway-${i}`);
      assert.equal(overHttp, inProcess, `case ${i}`);
      assert.equal(overHttp, removed ? 'removed' : 'not_found', `case ${i}`);
    }
  });

  it('refuses event types and tags the comma-separated list parameters cannot carry, naming the field', async () => {
    await client.appendEvents(STORE, 'commas', [
      { eventType: 'a,b', tags: ['t,x'] },
      { eventType: 'a', tags: ['t'] },
      { eventType: ' a' },
    ]);
    const refused = (field: string) => (err: unknown) =>
      err instanceof InvalidArgumentError && err.data['field'] === field && /comma/.test(err.message);
    await assert.rejects(client.readEvents(STORE, { types: ['x', 'a,b'] }, 0, 100), refused('filter.types[1]'));
    await assert.rejects(client.readEvents(STORE, { types: [' a'] }, 0, 100), refused('filter.types[0]'));
    await assert.rejects(client.readEvents(STORE, { tags: ['t,x'] }, 0, 100), refused('filter.tags[0]'));
    await assert.rejects(client.observe(STORE, { type: 'by_tags', selector: ['t,x'] }), refused('selector[0]'));
  });

  it("refuses the ids '.' and '..' that a URL path cannot carry, naming the field", async () => {
    const refused = (field: string) => (err: unknown) => err instanceof InvalidArgumentError && err.data['field'] === field;
    for (const dots of ['.', '..']) {
      await assert.rejects(client.appendEvents(STORE, dots, [{ eventType: 'x' }]), refused('streamId'));
      await assert.rejects(client.getEvents(STORE, dots), refused('streamId'));
      await assert.rejects(client.getVersion(STORE, dots), refused('streamId'));
      await assert.rejects(client.deleteStream(STORE, dots), refused('streamId'));
      await assert.rejects(client.getStore(dots), refused('store'));
      await assert.rejects(client.getSubscription(STORE, dots), refused('name'));
      await assert.rejects(client.saveSubscription(STORE, { type: 'by_stream', selector: '$all', name: dots }), refused('name'));
      await assert.rejects(client.subscribe(STORE, dots), refused('name'));
      await assert.rejects(client.readSnapshot(STORE, dots, 's', 0), refused('sourceUuid'));
      await assert.rejects(client.readSnapshot(STORE, 's', dots, 0), refused('streamUuid'));
    }
    assert.deepEqual(await client.getStreams(STORE).then((streams) => streams.filter((s) => s.streamId.startsWith('.'))), []);
  });

  it('deletes a stream', async () => {
    await client.appendEvents(STORE, 'doomed', [{ eventType: 'x' }]);
    await client.deleteStream(STORE, 'doomed');
    assert.equal(await client.getVersion(STORE, 'doomed'), -1);
  });

  it('spends one deadline on the two calls of removeSubscription and of observe', async () => {
    // Real requests to the real node, each first one held back 300 ms on its way: what is left is what the next gets.
    const deadlines: { method: string; path: string; deadlineMs: number }[] = [];
    const slowFirst: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      const deadlineMs = Number(new Headers(init?.headers).get('x-gater-deadline-ms'));
      deadlines.push({ method: init?.method ?? 'GET', path: url.pathname, deadlineMs });
      if (deadlines.length === 1) await new Promise((r) => setTimeout(r, 300));
      return fetch(input, init);
    };
    const timed = new GaterClient({ fetch: slowFirst }, { url: node.url });
    try {
      await client.saveSubscription(STORE, { type: 'by_stream', selector: '$all', name: 'short-lived' });
      await timed.removeSubscription(STORE, 'by_stream', '$all', 'short-lived', { deadlineMs: 2_000 });
      assert.deepEqual(deadlines.map((d) => d.method), ['GET', 'DELETE']);
      // 2,000 less the millisecond ticks between the deadline's computation and the request: not a time to assert.
      assert.ok(deadlines[0]!.deadlineMs > 1_900, `the first call got ${deadlines[0]!.deadlineMs} ms of 2,000`);
      assert.ok(deadlines[1]!.deadlineMs <= 1_700, `the removal got ${deadlines[1]!.deadlineMs} ms, not a fresh 2,000`);

      deadlines.length = 0;
      const observed = await timed.observe(STORE, { type: 'by_stream', selector: '$all' }, { deadlineMs: 2_000 });
      observed.close();
      assert.equal(deadlines.length, 2);
      assert.ok(deadlines[1]!.path.endsWith('/observe'));
      assert.ok(deadlines[1]!.deadlineMs <= 1_700, `the stream got ${deadlines[1]!.deadlineMs} ms to open`);
      await assert.rejects(
        timed.observe(STORE, { type: 'by_stream', selector: '$all' }, { deadlineMs: 2_000, deadlineAt: Date.now() - 1 }),
        { code: 'timeout' },
      );
      deadlines.length = 0;
      await timed.getVersion(STORE, 'x', { deadlineAt: Date.now() + 20_000 });
      assert.ok(deadlines[0]!.deadlineMs > 19_000, 'a deadlineAt given alone is the deadline, not cut to the default');
    } finally {
      timed.close();
    }
  });

  it('takes a deadlineAt past the longest deadline the node allows as that longest deadline', async () => {
    const sent: number[] = [];
    const recording: typeof fetch = (input, init) => {
      sent.push(Number(new Headers(init?.headers).get('x-gater-deadline-ms')));
      return fetch(input, init);
    };
    const far = new GaterClient({ fetch: recording }, { url: node.url });
    try {
      const deadlineAt = Date.now() + 30 * 24 * 3_600_000;
      assert.deepEqual(await far.getStreams(STORE, { deadlineAt }), await node.api.getStreams(STORE));
      const observed = await far.observe(STORE, { type: 'by_stream', selector: '$all' }, { deadlineAt });
      observed.close();
      await far.saveSubscription(STORE, { type: 'by_stream', selector: '$all', name: 'far-away' }, { deadlineAt });
      const subscribed = await far.subscribe(STORE, 'far-away', { deadlineAt });
      subscribed.close();
      // getStreams, observe's getStore and stream, saveSubscription, subscribe's stream.
      assert.deepEqual(sent, [600_000, 600_000, 600_000, 600_000, 600_000]);
    } finally {
      far.close();
    }
  });

  it('ends a call at its AbortSignal', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(client.getStreams(STORE, { signal: controller.signal }), { code: 'unavailable', message: 'the call was cancelled' });
    const later = new AbortController();
    const observing = await client.observe(STORE, { type: 'by_stream', selector: '$all' }, { signal: later.signal });
    later.abort();
    assert.equal(await observing.ended, 'aborted', 'the signal of a subscription closes it');
  });

  it('reports an unreachable node as unavailable, naming it, within the deadline', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const dead = new GaterClient({}, { url, deadlineMs: 300 });
    await assert.rejects(dead.getStreams(STORE), (err: unknown) => {
      assert.ok(err instanceof GaterError);
      assert.ok(err.code === 'unavailable' || err.code === 'timeout', err.code);
      assert.match(err.message, /127\.0\.0\.1|did not complete/);
      return true;
    });
    assert.throws(() => new GaterClient({}, { url: 'ftp://x' }), { code: 'invalid_argument' });
  });
});
