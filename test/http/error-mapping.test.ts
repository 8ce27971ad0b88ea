/**
 * How failures become HTTP answers, with a stub API so each failure can be chosen: GaterErrors by their status with
 * their data, unexpected errors as a 500 that reveals nothing and is logged under `err`, the deadline header passed
 * to the call. Also the pure mapping of validation errors to field names.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import {
  GaterError,
  NoWorkersError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError,
} from '../../src/errors/index.ts';
import type { CallOptions, GaterApi } from '../../src/gateway/gater-api.ts';
import { errorReply } from '../../src/http/error-reply.ts';
import { createHttpServer } from '../../src/http/index.ts';
import { toInvalidArgument } from '../../src/http/validation.ts';
import { GaterMetrics } from '../../src/metrics/index.ts';
import { stubApi } from './stub-api.ts';

function serverWith(api: Partial<GaterApi>, logLines: string[] = []) {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  return createHttpServer({
    api: stubApi(api),
    metrics: new GaterMetrics({ collectDefaultMetrics: false }),
    logger: pino({ level: 'info' }, sink),
    health: () => ({ live: true, ready: true, checks: {} }),
    cluster: () => ({}),
  });
}

describe('errors to HTTP answers', () => {
  const cases: Array<[string, GaterError, number, Record<string, unknown>]> = [
    ['no workers', new NoWorkersError('orders'), 503, { code: 'no_workers', store: 'orders' }],
    ['unavailable', new UnavailableError('worker restarting'), 503, { code: 'unavailable', message: 'worker restarting' }],
    ['timeout', new TimeoutError('getVersion', 250), 504, { code: 'timeout', deadlineMs: 250 }],
    ['stream not found', new StreamNotFoundError('s-1'), 404, { code: 'stream_not_found', streamId: 's-1' }],
    ['unauthorized', new GaterError('unauthorized', 'no'), 401, { code: 'unauthorized' }],
    ['conflict', new WrongExpectedVersionError('s', 3, 7), 409, { code: 'wrong_expected_version', currentVersion: 7, expectedVersion: 3 }],
  ];
  for (const [what, error, status, expected] of cases) {
    test(`${what} → ${status}`, async () => {
      const server = serverWith({ getVersion: () => Promise.reject(error) });
      const res = await server.app.inject({ method: 'GET', url: '/v1/stores/default/streams/s/version' });
      assert.equal(res.statusCode, status);
      const body = res.json().error;
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(body[k], v, k);
      assert.equal(body.message, error.message);
      await server.close();
    });
  }

  test('an unexpected error is a 500 internal that reveals nothing, logged under err', async () => {
    const lines: string[] = [];
    const server = serverWith({ getStreams: () => Promise.reject(new Error('secret path /var/db exploded')) }, lines);
    const res = await server.app.inject({ method: 'GET', url: '/v1/stores/default/streams' });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: { code: 'internal', message: 'internal error' } });
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request failed');
    assert.ok(logged, lines.join('\n'));
    assert.equal(logged.level, 50);
    assert.match(logged.err.message, /exploded/);
    await server.close();
  });

  test('an internal GaterError (from a worker, say) is answered the same way: no details leave the node', async () => {
    const lines: string[] = [];
    const server = serverWith({ getStreams: () => Promise.reject(new GaterError('internal', 'SQLITE_IOERR at /data/x.db', { path: '/data' })) }, lines);
    const res = await server.app.inject({ method: 'GET', url: '/v1/stores/default/streams' });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: { code: 'internal', message: 'internal error' } });
    assert.ok(lines.some((l) => l.includes('SQLITE_IOERR')), 'the details are in the log');
    await server.close();
  });

  test('HEAD opens no event stream', async () => {
    let opened = 0;
    const server = serverWith({
      observe: async () => {
        opened++;
        throw new Error('not expected');
      },
    });
    const res = await server.app.inject({ method: 'HEAD', url: '/v1/stores/default/observe?type=by_stream&selector=%24all' });
    assert.equal(res.statusCode, 404);
    assert.equal(opened, 0);
    assert.equal((await server.app.inject({ method: 'HEAD', url: '/health/live' })).statusCode, 200);
    await server.close();
  });

  test('error data never overrides the code or message', async () => {
    const error = new GaterError('not_found', 'gone', { code: 'other', message: 'other', extra: 1 });
    assert.deepEqual(errorReply(error).body, { error: { code: 'not_found', message: 'gone', extra: 1 } });
  });

  test('x-gater-deadline-ms becomes the deadline of the call; absent, the call has none of its own', async () => {
    const seen: Array<CallOptions | undefined> = [];
    const server = serverWith({
      async getVersion(_store, _stream, options) {
        seen.push(options);
        return 4;
      },
    });
    const withDeadline = await server.app.inject({
      method: 'GET',
      url: '/v1/stores/default/streams/s/version',
      headers: { 'x-gater-deadline-ms': '250' },
    });
    assert.deepEqual(withDeadline.json(), { version: 4 });
    await server.app.inject({ method: 'GET', url: '/v1/stores/default/streams/s/version' });
    assert.deepEqual(seen, [{ deadlineMs: 250 }, {}]);
    const tooLong = await server.app.inject({
      method: 'GET',
      url: '/v1/stores/default/streams/s/version',
      headers: { 'x-gater-deadline-ms': '600001' },
    });
    assert.equal(tooLong.statusCode, 400);
    assert.equal(tooLong.json().error.field, 'x-gater-deadline-ms');
    assert.equal(seen.length, 2);
    await server.close();
  });

  test('removing a subscription by name makes two calls under the request\'s one deadline', async () => {
    const seen: Array<CallOptions | undefined> = [];
    const api: Partial<GaterApi> = {
      async getSubscription(_store, name, options) {
        seen.push(options);
        await new Promise((r) => setTimeout(r, 100)); // the first call takes some of the deadline
        return { name, type: 'by_stream', selector: '$all', createdAt: '', startFrom: 0, options: {} } as never;
      },
      async removeSubscription(_store, _type, _selector, _name, options) {
        seen.push(options);
      },
    };
    const server = serverWith(api);
    const started = Date.now();
    const res = await server.app.inject({
      method: 'DELETE',
      url: '/v1/stores/default/subscriptions/orders',
      headers: { 'x-gater-deadline-ms': '3000' },
    });
    assert.equal(res.statusCode, 204);
    const [lookup, removal] = seen;
    assert.equal(typeof lookup?.deadlineAt, 'number');
    assert.equal(removal?.deadlineAt, lookup?.deadlineAt, 'the removal gets what is left, not a deadline of its own');
    assert.ok(lookup!.deadlineAt! >= started + 3000 && lookup!.deadlineAt! <= Date.now() + 3000);
    await server.close();

    // Without the header, the node's call timeout is the shared deadline.
    seen.length = 0;
    const withDefault = createHttpServer(
      {
        api: stubApi(api),
        metrics: new GaterMetrics({ collectDefaultMetrics: false }),
        health: () => ({ live: true, ready: true, checks: {} }),
        cluster: () => ({}),
      },
      { callTimeoutMs: 1234 },
    );
    const before = Date.now();
    assert.equal((await withDefault.app.inject({ method: 'DELETE', url: '/v1/stores/default/subscriptions/o' })).statusCode, 204);
    assert.ok(seen[1]!.deadlineAt! >= before + 1234 && seen[1]!.deadlineAt! <= Date.now() + 1234);
    await withDefault.close();
  });

  test('an append passes events and expected version through unchanged', async () => {
    const calls: unknown[] = [];
    const server = serverWith({
      async appendEvents(store, stream, events, options) {
        calls.push({ store, stream, events, options });
        return { version: 1, position: 9 };
      },
    });
    const events = [{ eventType: 'A', data: { x: [1, 2] }, tags: ['t'], metadata: { causationId: 'c' } }];
    const res = await server.app.inject({
      method: 'POST',
      url: '/v1/stores/st/streams/a%2Fb/events',
      payload: { events, expectedVersion: 'no_stream' },
    });
    assert.deepEqual(res.json(), { version: 1, position: 9 });
    assert.deepEqual(calls, [{ store: 'st', stream: 'a/b', events, options: { expectedVersion: 'no_stream' } }]);
    await server.close();
  });
});

describe('validation errors to field names', () => {
  const error = (fields: Record<string, unknown>) => ({ instancePath: '', schemaPath: '#', keyword: 'type', params: {}, ...fields });

  test('paths become field names as callers write them', () => {
    const e = toInvalidArgument([error({ instancePath: '/events/12/tags/0', message: 'must be string', params: { type: 'string' } })], 'body');
    assert.equal(e.data['field'], 'events[12].tags[0]');
    assert.equal(e.message, 'events[12].tags[0]: must be a string');
  });

  test('JSON pointer escapes are undone', () => {
    const e = toInvalidArgument([error({ instancePath: '/metadata/a~1b~0c', params: { type: 'object' } })], 'body');
    assert.equal(e.data['field'], 'metadata.a/b~c');
  });

  test('missing and unknown properties name the property itself', () => {
    const missing = toInvalidArgument([error({ instancePath: '/events/0', keyword: 'required', params: { missingProperty: 'eventType' } })], 'body');
    assert.equal(missing.message, 'events[0].eventType: is required');
    const unknownBody = toInvalidArgument([error({ keyword: 'additionalProperties', params: { additionalProperty: 'colour' } })], 'body');
    assert.equal(unknownBody.message, 'colour: is not a known field');
    const unknownQuery = toInvalidArgument([error({ keyword: 'additionalProperties', params: { additionalProperty: 'x' } })], 'querystring');
    assert.equal(unknownQuery.message, 'x: is not a known parameter');
  });

  test('the root of a part is named after the part; a hint in the schema wins over the generic message', () => {
    assert.equal(toInvalidArgument([error({ params: { type: 'object' } })], 'body').message, 'body: must be an object');
    const hinted = toInvalidArgument(
      [
        error({ instancePath: '/expectedVersion', params: { type: 'integer' } }),
        error({ instancePath: '/expectedVersion', keyword: 'anyOf', message: 'must match a schema in anyOf', parentSchema: { hint: 'must be a version' } }),
      ],
      'body',
    );
    assert.equal(hinted.message, 'expectedVersion: must be a version');
  });
});
