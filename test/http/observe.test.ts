/**
 * Transient subscriptions (observe) as server-sent events over a real socket: live events, replay from a position,
 * resume with Last-Event-ID, selectors in query strings, keep-alive comments, client disconnects, server shutdown,
 * and a client that stops reading slowing only its own stream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, SseReader, startHarness, type Harness } from './harness.ts';

const S = '/v1/stores/default';

describe('observe over SSE', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ http: { heartbeatIntervalMs: 50 } });
  });
  after(() => h.close());

  const append = async (stream: string, events: unknown[]) => {
    const res = await h.request.fetch('POST', `${S}/streams/${stream}/events`, { json: { events } });
    assert.equal(res.status, 200, res.text);
    return res.body as { version: number; position: number };
  };
  const observe = (query: string, headers?: Record<string, string>) => SseReader.open(`${h.url}${S}/observe?${query}`, headers);
  const openStreams = async () => Number(/^gater_http_event_streams (\d+)$/m.exec(await h.metrics.render())?.[1]);

  test('live events arrive as they are appended, with their position as the message id', async () => {
    await append('before', [{ eventType: 'Old' }]);
    const stream = await observe('type=by_stream&selector=%24all');
    try {
      assert.equal(stream.response.status, 200);
      assert.match(stream.response.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(stream.response.headers.get('cache-control'), 'no-cache, no-transform');
      const a = await append('live-1', [{ eventType: 'A', data: { k: 1 } }]);
      const b = await append('live-2', [{ eventType: 'B', data: { k: 2 } }, { eventType: 'C', data: { k: 3 } }]);
      const got = await stream.take(3);
      assert.deepEqual(got.map((m) => m.data.event.eventType), ['A', 'B', 'C']);
      assert.deepEqual(got.map((m) => Number(m.id)), [a.position, b.position - 1, b.position]);
      assert.ok(got.every((m) => m.event === 'event' && m.data.attempt === 1));
      assert.equal(got[0]!.data.event.streamId, 'live-1');
    } finally {
      stream.close();
    }
  });

  test('from replays history, then live events follow; Last-Event-ID resumes after the last one seen', async () => {
    const { position: p0 } = await append('replay', [{ eventType: 'R', data: { n: 0 } }]);
    await append('replay', [{ eventType: 'R', data: { n: 1 } }, { eventType: 'R', data: { n: 2 } }]);
    const fromStart = await observe(`type=by_stream&selector=replay&from=${p0}`);
    let lastId: string;
    try {
      const history = await fromStart.take(3);
      assert.deepEqual(history.map((m) => m.data.event.data.n), [0, 1, 2]);
      await append('replay', [{ eventType: 'R', data: { n: 3 } }]);
      assert.equal((await fromStart.next()).data.event.data.n, 3);
      lastId = history[1]!.id!;
    } finally {
      fromStart.close();
    }

    // An EventSource reconnects with its original URL and the last id it saw: the header wins over `from`.
    const resumed = await observe(`type=by_stream&selector=replay&from=${p0}`, { 'last-event-id': lastId });
    try {
      const again = await resumed.take(2);
      assert.deepEqual(again.map((m) => m.data.event.data.n), [2, 3]);
    } finally {
      resumed.close();
    }

    // An empty Last-Event-ID (no event seen yet) is no resume point: `from` applies.
    const emptyId = await observe(`type=by_stream&selector=replay&from=${p0}`, { 'last-event-id': '' });
    try {
      assert.equal(emptyId.response.status, 200);
      assert.deepEqual((await emptyId.take(4)).map((m) => m.data.event.data.n), [0, 1, 2, 3]);
    } finally {
      emptyId.close();
    }
  });

  test('selectors from the query string: event type, stream pattern, JSON payload, tags any and all', async () => {
    const byType = await observe('type=by_event_type&selector=Wanted');
    const byPattern = await observe('type=by_event_pattern&selector=sel-b*');
    const byPayload = await observe(`type=by_event_payload&selector=${encodeURIComponent(JSON.stringify({ region: 'eu' }))}`);
    const byTagsAny = await observe('type=by_tags&selector=red,blue');
    const byTagsAll = await observe('type=by_tags&selector=red,blue&match=all');
    try {
      await append('sel-a', [
        { eventType: 'Wanted', data: { region: 'us' }, tags: ['red'] },
        { eventType: 'Other', data: { region: 'eu', x: 1 }, tags: ['red', 'blue'] },
      ]);
      await append('sel-b1', [{ eventType: 'Other', data: { region: 'eu' }, tags: ['blue'] }, { eventType: 'Wanted', data: {} }]);
      // A final event every stream selects marks the end, so "nothing else arrived" is checked without waiting.
      await append('sel-b2', [{ eventType: 'Wanted', data: { region: 'eu' }, tags: ['red', 'blue'] }]);

      const typesOf = async (s: SseReader, n: number) =>
        (await s.take(n)).map((m) => `${m.data.event.streamId}:${m.data.event.eventType}`);
      assert.deepEqual(await typesOf(byType, 3), ['sel-a:Wanted', 'sel-b1:Wanted', 'sel-b2:Wanted']);
      assert.deepEqual(await typesOf(byPattern, 3), ['sel-b1:Other', 'sel-b1:Wanted', 'sel-b2:Wanted']);
      assert.deepEqual(await typesOf(byPayload, 3), ['sel-a:Other', 'sel-b1:Other', 'sel-b2:Wanted']);
      assert.deepEqual(await typesOf(byTagsAny, 4), ['sel-a:Wanted', 'sel-a:Other', 'sel-b1:Other', 'sel-b2:Wanted']);
      assert.deepEqual(await typesOf(byTagsAll, 2), ['sel-a:Other', 'sel-b2:Wanted']);
    } finally {
      for (const s of [byType, byPattern, byPayload, byTagsAny, byTagsAll]) s.close();
    }
  });

  test('an idle stream carries keep-alive comments', async () => {
    const stream = await observe('type=by_event_type&selector=NeverAppended');
    try {
      assert.match(await stream.waitForComment(/^subscribed /), /^subscribed \S+/);
      assert.equal(await stream.waitForComment(/^keep-alive$/), 'keep-alive');
    } finally {
      stream.close();
    }
  });

  test('a client that goes away closes its subscription', async () => {
    assert.ok(await eventually(async () => (await openStreams()) === 0), 'no stream left from earlier tests');
    const streams = await Promise.all([1, 2, 3].map(() => observe('type=by_stream&selector=%24all')));
    assert.equal(await openStreams(), 3);
    streams[0]!.close();
    assert.ok(await eventually(async () => (await openStreams()) === 2), 'one stream closed');
    for (const s of streams) s.close();
    assert.ok(await eventually(async () => (await openStreams()) === 0), 'all streams closed');
  });

  test('errors before the stream starts are JSON errors with their status', async () => {
    const noWorkers = await h.request.fetch('GET', '/v1/stores/nowhere/observe?type=by_stream&selector=%24all');
    assert.equal(noWorkers.status, 503);
    assert.match(noWorkers.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(noWorkers.body.error.code, 'no_workers');
  });

  test('a client that stops reading slows only its own stream', async () => {
    // The stalled client holds a stream that receives ~8 MB it never reads: far more than socket buffers take.
    const stalled = await observe('type=by_stream&selector=flood');
    const reader = await observe('type=by_stream&selector=flood');
    const BATCHES = 40;
    const PER_BATCH = 50;
    const data = { blob: 'x'.repeat(4_000) };
    try {
      let received = 0;
      const reading = (async () => {
        while (received < BATCHES * PER_BATCH) {
          const m = await reader.next(20_000);
          assert.equal(m.data.event.data.blob.length, 4_000);
          received++;
        }
      })();
      for (let b = 0; b < BATCHES; b++) {
        await append('flood', Array.from({ length: PER_BATCH }, () => ({ eventType: 'Flood', data })));
      }
      await reading;
      assert.equal(received, BATCHES * PER_BATCH);
      // Other calls still answer while the stalled stream is held back.
      assert.equal((await h.request.fetch('GET', `${S}/streams/flood/version`)).body.version, BATCHES * PER_BATCH - 1);
      // The stalled client lost nothing: once it reads, it gets every event, in order.
      const late = await stalled.take(BATCHES * PER_BATCH, 30_000);
      assert.deepEqual(
        late.map((m) => m.data.event.version),
        Array.from({ length: BATCHES * PER_BATCH }, (_, i) => i),
      );
    } finally {
      stalled.close();
      reader.close();
    }
    assert.ok(await eventually(async () => (await openStreams()) === 0), 'both streams closed');
  });
});

describe('server shutdown with open streams', () => {
  test('closing the server ends open streams and returns promptly', async () => {
    const h = await startHarness();
    try {
      const stream = await SseReader.open(`${h.url}${S}/observe?type=by_stream&selector=%24all`);
      await h.server.close();
      assert.equal(await stream.waitForEnd(), true);
    } finally {
      await h.close();
    }
  });
});
