/**
 * Bad input on every route: each is a 400 `invalid_argument` whose `field` names what was wrong and whose message
 * starts with that field, and nothing is written (the store stays empty: no events, snapshots or subscriptions).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, TRANSPORTS, type Harness, type RequestOptions } from './harness.ts';

interface Case {
  what: string;
  method: string;
  path: string;
  options?: RequestOptions;
  field: string;
  /** Expected status when not 400 (body too large and the like). */
  status?: number;
}

const S = '/v1/stores/default';
const APPEND = `${S}/streams/s/events`;
const ok = { eventType: 'Ok' };
const SUB = `${S}/subscriptions/sub-1`;
const SNAP = `${S}/snapshots/src/stream`;
const json = (value: unknown): RequestOptions => ({ json: value });

const CASES: Case[] = [
  // append
  { what: 'no body', method: 'POST', path: APPEND, field: 'body' },
  { what: 'malformed JSON', method: 'POST', path: APPEND, options: { raw: '{"events": [', headers: { 'content-type': 'application/json' } }, field: 'body' },
  { what: 'a text/plain body', method: 'POST', path: APPEND, options: { raw: 'events', headers: { 'content-type': 'text/plain' } }, field: 'body', status: 415 },
  { what: 'a text/plain body that is JSON', method: 'POST', path: APPEND, options: { raw: JSON.stringify({ events: [ok] }), headers: { 'content-type': 'text/plain; charset=utf-8' } }, field: 'body', status: 415 },
  { what: 'a form body', method: 'POST', path: APPEND, options: { raw: 'events=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, field: 'body', status: 415 },
  { what: 'a body without a content type (fetch sends text/plain)', method: 'POST', path: APPEND, options: { raw: JSON.stringify({ events: [ok] }) }, field: 'body', status: 415 },
  { what: 'a JSON array body', method: 'POST', path: APPEND, options: json([ok]), field: 'body' },
  { what: 'events missing', method: 'POST', path: APPEND, options: json({}), field: 'events' },
  { what: 'events not an array', method: 'POST', path: APPEND, options: json({ events: ok }), field: 'events' },
  { what: 'events empty', method: 'POST', path: APPEND, options: json({ events: [] }), field: 'events' },
  { what: 'an event that is not an object', method: 'POST', path: APPEND, options: json({ events: [ok, 7] }), field: 'events[1]' },
  { what: 'eventType missing', method: 'POST', path: APPEND, options: json({ events: [{ data: 1 }] }), field: 'events[0].eventType' },
  { what: 'eventType a number (in the second event)', method: 'POST', path: APPEND, options: json({ events: [ok, { eventType: 5 }] }), field: 'events[1].eventType' },
  { what: 'eventType empty', method: 'POST', path: APPEND, options: json({ events: [{ eventType: '' }] }), field: 'events[0].eventType' },
  { what: 'an unknown event field', method: 'POST', path: APPEND, options: json({ events: [{ eventType: 'A', colour: 'red' }] }), field: 'events[0].colour' },
  { what: 'an unknown body field', method: 'POST', path: APPEND, options: json({ events: [ok], expected: 1 }), field: 'expected' },
  { what: 'eventId not a UUID', method: 'POST', path: APPEND, options: json({ events: [{ eventType: 'A', eventId: 'abc' }] }), field: 'events[0].eventId' },
  { what: 'tags not an array', method: 'POST', path: APPEND, options: json({ events: [{ eventType: 'A', tags: 'x' }] }), field: 'events[0].tags' },
  { what: 'a tag that is a number', method: 'POST', path: APPEND, options: json({ events: [{ eventType: 'A', tags: ['x', 2] }] }), field: 'events[0].tags[1]' },
  { what: 'metadata an array', method: 'POST', path: APPEND, options: json({ events: [{ eventType: 'A', metadata: [] }] }), field: 'events[0].metadata' },
  { what: 'expectedVersion an unknown name', method: 'POST', path: APPEND, options: json({ events: [ok], expectedVersion: 'latest' }), field: 'expectedVersion' },
  { what: 'expectedVersion -3', method: 'POST', path: APPEND, options: json({ events: [ok], expectedVersion: -3 }), field: 'expectedVersion' },
  { what: 'expectedVersion 1.5', method: 'POST', path: APPEND, options: json({ events: [ok], expectedVersion: 1.5 }), field: 'expectedVersion' },
  { what: 'expectedVersion a numeric string', method: 'POST', path: APPEND, options: json({ events: [ok], expectedVersion: '3' }), field: 'expectedVersion' },
  { what: 'expectedVersion null', method: 'POST', path: APPEND, options: json({ events: [ok], expectedVersion: null }), field: 'expectedVersion' },
  { what: 'a reserved stream id', method: 'POST', path: `${S}/streams/%24all/events`, options: json({ events: [ok] }), field: 'stream' },
  { what: 'a stream id too long', method: 'POST', path: `${S}/streams/${'x'.repeat(513)}/events`, options: json({ events: [ok] }), field: 'stream' },
  { what: 'a bad store id', method: 'POST', path: '/v1/stores/no%20spaces/streams/s/events', options: json({ events: [ok] }), field: 'store' },
  { what: 'a bad deadline header', method: 'POST', path: APPEND, options: { json: { events: [ok] }, headers: { 'x-gater-deadline-ms': '-5' } }, field: 'x-gater-deadline-ms' },
  // read a stream
  { what: 'count 0', method: 'GET', path: `${S}/streams/s/events?count=0`, field: 'count' },
  { what: 'count above 10,000', method: 'GET', path: `${S}/streams/s/events?count=10001`, field: 'count' },
  { what: 'count not a number', method: 'GET', path: `${S}/streams/s/events?count=ten`, field: 'count' },
  { what: 'from negative', method: 'GET', path: `${S}/streams/s/events?from=-1`, field: 'from' },
  { what: 'from a fraction', method: 'GET', path: `${S}/streams/s/events?from=1.5`, field: 'from' },
  { what: 'an unknown direction', method: 'GET', path: `${S}/streams/s/events?direction=sideways`, field: 'direction' },
  // numbers in paths and query strings are plain decimal text, nothing else JavaScript's Number() reads
  { what: 'count in hex', method: 'GET', path: `${S}/streams/s/events?count=0x2`, field: 'count' },
  { what: 'count with an exponent', method: 'GET', path: `${S}/streams/s/events?count=1e1`, field: 'count' },
  { what: 'count with a leading blank', method: 'GET', path: `${S}/streams/s/events?count=%205`, field: 'count' },
  { what: 'count with a plus sign', method: 'GET', path: `${S}/streams/s/events?count=%2B5`, field: 'count' },
  { what: 'count empty', method: 'GET', path: `${S}/streams/s/events?count=`, field: 'count' },
  { what: 'from with a leading zero', method: 'GET', path: `${S}/streams/s/events?from=01`, field: 'from' },
  { what: '$all from in binary', method: 'GET', path: `${S}/all?from=0b11`, field: 'from' },
  { what: 'a query from with a trailing blank', method: 'GET', path: `${S}/events?types=a&from=3%20`, field: 'from' },
  { what: 'a snapshot version with an exponent', method: 'PUT', path: `${SNAP}/1e1`, options: json({ data: 1 }), field: 'version' },
  { what: 'reading a snapshot at a hex version', method: 'GET', path: `${SNAP}/0x1`, field: 'version' },
  { what: 'an unknown query parameter', method: 'GET', path: `${S}/streams/s/events?fromVersion=1`, field: 'fromVersion' },
  { what: 'a repeated query parameter', method: 'GET', path: `${S}/streams/s/events?count=1&count=2`, field: 'count' },
  // paths the router refuses before any route matches
  { what: 'bad percent-encoding in a path', method: 'GET', path: `${S}/streams/a%ZZ/version`, field: 'path' },
  { what: 'invalid UTF-8 in a path', method: 'GET', path: `${S}/streams/%FF/version`, field: 'path' },
  { what: 'a path parameter over the router limit', method: 'GET', path: `${S}/streams/${'x'.repeat(4700)}/version`, field: 'path', status: 414 },
  // version, streams, delete, stores
  { what: 'version with a reserved stream id', method: 'GET', path: `${S}/streams/%24x/version`, field: 'stream' },
  { what: 'version with an unknown parameter', method: 'GET', path: `${S}/streams/s/version?at=1`, field: 'at' },
  { what: 'streams of a bad store id', method: 'GET', path: '/v1/stores/a.b/streams', field: 'store' },
  { what: 'delete with a reserved stream id', method: 'DELETE', path: `${S}/streams/%24all`, field: 'stream' },
  { what: 'store details of a store id too long', method: 'GET', path: `/v1/stores/${'s'.repeat(65)}`, field: 'store' },
  { what: 'stores with an unknown parameter', method: 'GET', path: '/v1/stores?all=1', field: 'all' },
  // $all and queries
  { what: '$all count too large', method: 'GET', path: `${S}/all?count=20000`, field: 'count' },
  { what: '$all from not a number', method: 'GET', path: `${S}/all?from=start`, field: 'from' },
  { what: 'a query without types or tags', method: 'GET', path: `${S}/events`, field: 'types' },
  { what: 'a query with an empty type list', method: 'GET', path: `${S}/events?types=,,`, field: 'types' },
  { what: 'a query with an empty tag list', method: 'GET', path: `${S}/events?tags=`, field: 'tags' },
  { what: 'a query with an unknown match', method: 'GET', path: `${S}/events?tags=a&match=most`, field: 'match' },
  { what: 'a query with count 0', method: 'GET', path: `${S}/events?types=a&count=0`, field: 'count' },
  // subscriptions
  { what: 'subscription type missing', method: 'PUT', path: SUB, options: json({ selector: '$all' }), field: 'type' },
  { what: 'subscription type unknown', method: 'PUT', path: SUB, options: json({ type: 'by_magic', selector: '$all' }), field: 'type' },
  { what: 'selector missing', method: 'PUT', path: SUB, options: json({ type: 'by_stream' }), field: 'selector' },
  { what: 'selector a number', method: 'PUT', path: SUB, options: json({ type: 'by_stream', selector: 5 }), field: 'selector' },
  { what: 'a payload selector that is a string', method: 'PUT', path: SUB, options: json({ type: 'by_event_payload', selector: 'x' }), field: 'selector' },
  { what: 'a tags selector that is empty', method: 'PUT', path: SUB, options: json({ type: 'by_tags', selector: [] }), field: 'selector' },
  { what: 'a stream selector that is reserved', method: 'PUT', path: SUB, options: json({ type: 'by_stream', selector: '$other' }), field: 'selector' },
  { what: 'startFrom negative', method: 'PUT', path: SUB, options: json({ type: 'by_stream', selector: '$all', startFrom: -1 }), field: 'startFrom' },
  { what: 'an option out of range', method: 'PUT', path: SUB, options: json({ type: 'by_stream', selector: '$all', options: { maxDeliveries: 0 } }), field: 'options.maxDeliveries' },
  { what: 'an unknown option', method: 'PUT', path: SUB, options: json({ type: 'by_stream', selector: '$all', options: { retries: 3 } }), field: 'options.retries' },
  { what: 'a name in the body', method: 'PUT', path: SUB, options: json({ type: 'by_stream', selector: '$all', name: 'other' }), field: 'name' },
  { what: 'a subscription name too long', method: 'PUT', path: `${S}/subscriptions/${'n'.repeat(257)}`, options: json({ type: 'by_stream', selector: '$all' }), field: 'name' },
  { what: 'get a subscription of a bad store', method: 'GET', path: '/v1/stores/b@d/subscriptions/x', field: 'store' },
  { what: 'list subscriptions with an unknown parameter', method: 'GET', path: `${S}/subscriptions?type=by_stream`, field: 'type' },
  { what: 'delete a subscription of a bad store', method: 'DELETE', path: '/v1/stores/b@d/subscriptions/x', field: 'store' },
  { what: 'events of a subscription with an unknown parameter', method: 'GET', path: `${SUB}/events?from=1`, field: 'from' },
  { what: 'ack without positions', method: 'POST', path: `${SUB}/ack`, options: json({}), field: 'positions' },
  { what: 'ack with no positions', method: 'POST', path: `${SUB}/ack`, options: json({ positions: [] }), field: 'positions' },
  { what: 'ack with a negative position', method: 'POST', path: `${SUB}/ack`, options: json({ positions: [1, -1] }), field: 'positions[1]' },
  { what: 'ack with positions as a string', method: 'POST', path: `${SUB}/ack`, options: json({ positions: '1,2' }), field: 'positions' },
  { what: 'parked of a bad store', method: 'GET', path: '/v1/stores/b@d/subscriptions/x/parked', field: 'store' },
  { what: 'replay with a position that is a string', method: 'POST', path: `${SUB}/parked/replay`, options: json({ positions: ['1'] }), field: 'positions[0]' },
  { what: 'replay with an unknown field', method: 'POST', path: `${SUB}/parked/replay`, options: json({ all: true }), field: 'all' },
  // observe
  { what: 'observe without a type', method: 'GET', path: `${S}/observe?selector=x`, field: 'type' },
  { what: 'observe without a selector', method: 'GET', path: `${S}/observe?type=by_stream`, field: 'selector' },
  { what: 'observe with selector JSON that does not parse', method: 'GET', path: `${S}/observe?type=by_event_payload&selector=%7Bnope`, field: 'selector' },
  { what: 'observe with selector JSON that is not an object', method: 'GET', path: `${S}/observe?type=by_event_payload&selector=%5B1%5D`, field: 'selector' },
  { what: 'observe with an empty tag list', method: 'GET', path: `${S}/observe?type=by_tags&selector=%2C`, field: 'selector' },
  { what: 'observe from a negative position', method: 'GET', path: `${S}/observe?type=by_stream&selector=%24all&from=-5`, field: 'from' },
  { what: 'observe with a bad Last-Event-ID', method: 'GET', path: `${S}/observe?type=by_stream&selector=%24all`, options: { headers: { 'last-event-id': 'abc' } }, field: 'Last-Event-ID' },
  { what: 'observe with an unknown match', method: 'GET', path: `${S}/observe?type=by_tags&selector=a&match=some`, field: 'match' },
  // snapshots
  { what: 'a snapshot at version 0', method: 'PUT', path: `${SNAP}/0`, options: json({ data: 1 }), field: 'version' },
  { what: 'a snapshot version that is not a number', method: 'PUT', path: `${SNAP}/v1`, options: json({ data: 1 }), field: 'version' },
  { what: 'a snapshot without data', method: 'PUT', path: `${SNAP}/1`, options: json({ metadata: {} }), field: 'data' },
  { what: 'snapshot metadata a string', method: 'PUT', path: `${SNAP}/1`, options: json({ data: 1, metadata: 'm' }), field: 'metadata' },
  { what: 'an unknown snapshot field', method: 'PUT', path: `${SNAP}/1`, options: json({ data: 1, version: 2 }), field: 'version' },
  { what: 'reading a snapshot at a negative version', method: 'GET', path: `${SNAP}/-1`, field: 'version' },
  { what: 'deleting a snapshot at a fractional version', method: 'DELETE', path: `${SNAP}/1.5`, field: 'version' },
  { what: 'listing snapshots with an unknown parameter', method: 'GET', path: `${S}/snapshots?source=x`, field: 'source' },
  { what: 'listing snapshots with an empty source', method: 'GET', path: `${S}/snapshots?sourceUuid=`, field: 'sourceUuid' },
  // numbers JSON.parse makes Infinity of, which JSON.stringify would store as null
  { what: 'a number out of range in event data', method: 'POST', path: APPEND, options: { raw: '{"events":[{"eventType":"A","data":{"a":[null,{"big":1e400}]}}]}', headers: { 'content-type': 'application/json' } }, field: 'events[0].data.a[1].big' },
  { what: 'a number out of range in metadata', method: 'POST', path: APPEND, options: { raw: '{"events":[{"eventType":"A"},{"eventType":"B","metadata":{"n":-1e999}}]}', headers: { 'content-type': 'application/json' } }, field: 'events[1].metadata.n' },
  { what: 'a number out of range in snapshot data', method: 'PUT', path: `${SNAP}/1`, options: { raw: '{"data":[1e400]}', headers: { 'content-type': 'application/json' } }, field: 'data[0]' },
  { what: 'a number out of range in a saved payload selector', method: 'PUT', path: SUB, options: { raw: '{"type":"by_event_payload","selector":{"big":1e400}}', headers: { 'content-type': 'application/json' } }, field: 'selector.big' },
  // inputs the store checks, named as the request names them (the store says streamId, filter.tags, spec.name…)
  { what: 'a stream id holding U+0000 in the path', method: 'POST', path: `${S}/streams/a%00b/events`, options: json({ events: [ok] }), field: 'stream' },
  { what: 'a tag holding U+0000 in the query', method: 'GET', path: `${S}/events?tags=ok,a%00b`, field: 'tags[1]' },
  { what: 'an event type holding U+0000 in the query', method: 'GET', path: `${S}/events?types=a%00b`, field: 'types[0]' },
  { what: 'a subscription name holding U+0000', method: 'PUT', path: `${S}/subscriptions/a%00b`, options: json({ type: 'by_stream', selector: '$all' }), field: 'name' },
  { what: 'a snapshot source holding U+0000', method: 'PUT', path: `${S}/snapshots/a%00b/stream/1`, options: json({ data: 1 }), field: 'sourceUuid' },
  // probes and cluster take no parameters either
  { what: 'cluster with a parameter', method: 'GET', path: '/v1/cluster?verbose=1', field: 'verbose' },
  { what: 'readiness with a parameter', method: 'GET', path: '/health/ready?x=1', field: 'x' },
];

for (const transport of TRANSPORTS) {
  describe(`bad input is refused with 400 naming the field (${transport})`, () => {
    let h: Harness;

    before(async () => {
      h = await startHarness({ http: { bodyLimitBytes: 64 * 1024 } });
    });
    after(() => h.close());

    for (const c of CASES) {
      test(`${c.method} ${c.what} → ${c.field}`, async () => {
        const res = await h.request[transport](c.method, c.path, c.options);
        assert.equal(res.status, c.status ?? 400, res.text);
        assert.match(res.headers['content-type'] ?? '', /^application\/json/);
        assert.equal(res.body.error.code, 'invalid_argument', res.text);
        assert.equal(res.body.error.field, c.field, res.text);
        assert.ok(res.body.error.message.startsWith(`${c.field}: `), res.text);
        assert.ok(res.body.error.message.length > c.field.length + 6, `a message that says what is wrong: ${res.text}`);
      });
    }

    test('a body over the limit is refused with 413', async () => {
      const big = { events: [{ eventType: 'A', data: 'x'.repeat(70 * 1024) }] };
      const res = await h.request[transport]('POST', APPEND, { json: big });
      assert.equal(res.status, 413);
      assert.equal(res.body.error.code, 'invalid_argument');
      assert.equal(res.body.error.field, 'body');
    });

    test('nothing was written by any of them', async () => {
      const store = await h.api.getStore('default');
      assert.equal(store.hasEvents, false);
      assert.equal(store.lastPosition, -1);
      assert.equal(store.streamCount, 0);
      assert.deepEqual(await h.api.listSnapshots('default'), []);
      assert.deepEqual(await h.api.getSubscriptions('default'), []);
    });
  });
}
