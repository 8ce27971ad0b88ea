/**
 * The SSE writer on its own, over a real socket, with a subscription that counts what it hands out: a client that
 * does not read holds the subscription back (backpressure), catches up when it reads, and closes it by leaving.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createHttpServer, type HttpServer } from '../../src/http/index.ts';
import { GaterMetrics } from '../../src/metrics/index.ts';
import { eventually } from './harness.ts';
import { CountingSubscription, stubApi } from './stub-api.ts';

const TOTAL = 4_000;
const BLOB = 'x'.repeat(4_096);

describe('SSE backpressure', () => {
  let server: HttpServer;
  let port: number;
  const subscriptions: CountingSubscription[] = [];

  before(async () => {
    const api = stubApi({
      async observe() {
        const sub = new CountingSubscription(TOTAL, { blob: BLOB });
        subscriptions.push(sub);
        return sub;
      },
    });
    server = createHttpServer(
      { api, metrics: new GaterMetrics({ collectDefaultMetrics: false }), health: () => ({ live: true, ready: true, checks: {} }), cluster: () => ({}) },
      { host: '127.0.0.1', port: 0 },
    );
    port = Number(new URL(await server.listen()).port);
  });
  after(() => server.close());

  /** A raw client that sends the request and reads nothing until told to. */
  function openPaused(): Socket {
    const socket = connect(port, '127.0.0.1');
    socket.pause();
    socket.write('GET /v1/stores/s/observe?type=by_stream&selector=%24all HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n');
    return socket;
  }

  test('a client that does not read holds its subscription back; when it reads, it gets everything in order', async () => {
    const socket = openPaused();
    try {
      assert.ok(await eventually(() => subscriptions.length === 1 && subscriptions[0]!.pulled > 0), 'the stream started');
      const sub = subscriptions[0]!;
      // Wait until the writer stops pulling: the socket buffers are full and it waits for 'drain'.
      let last = -1;
      assert.ok(
        await eventually(async () => {
          const settled = sub.pulled === last;
          last = sub.pulled;
          return settled;
        }, 10_000, 100),
        'pulling stops',
      );
      assert.ok(sub.pulled < TOTAL, `held back at ${sub.pulled} of ${TOTAL} events (~${Math.round((sub.pulled * BLOB.length) / 1024)} KiB)`);

      // Now read: every event arrives, in order. Chunks are kept apart and joined once: growing one 16 MB string
      // and searching it per chunk would make the reader, not the server, the bottleneck.
      const chunks: string[] = [];
      let tail = '';
      const done = new Promise<void>((resolve, reject) => {
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          chunks.push(chunk);
          tail = (tail + chunk).slice(-16);
          // The subscription ends after its last event, so the response ends: the last chunk of a chunked body.
          if (tail.endsWith('\r\n0\r\n\r\n')) resolve();
        });
        socket.on('error', reject);
        setTimeout(() => reject(new Error(`timed out reading the stream (pulled ${sub.pulled})`)), 20_000).unref();
      });
      socket.resume();
      await done;
      const text = chunks.join('');
      const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      assert.deepEqual(ids, Array.from({ length: TOTAL }, (_, i) => i));
      assert.equal(sub.pulled, TOTAL);
    } finally {
      socket.destroy();
    }
  });

  test('a client that leaves while held back closes its subscription', async () => {
    const socket = openPaused();
    assert.ok(await eventually(() => subscriptions.length === 2 && subscriptions[1]!.pulled > 0), 'the stream started');
    const sub = subscriptions[1]!;
    socket.destroy();
    assert.ok(await eventually(() => sub.closedWith !== undefined), 'the subscription was closed');
    assert.ok(sub.pulled < TOTAL);
  });
});

describe('SSE and clients that read nothing', () => {
  /** A server whose streams carry 4,000 large events, and a client that asks for one and never reads. */
  async function stalledStream(init: { eventStreamStallTimeoutMs?: number }) {
    const subscriptions: CountingSubscription[] = [];
    const api = stubApi({
      async observe() {
        const sub = new CountingSubscription(TOTAL, { blob: BLOB });
        subscriptions.push(sub);
        return sub;
      },
    });
    const server = createHttpServer(
      { api, metrics: new GaterMetrics({ collectDefaultMetrics: false }), health: () => ({ live: true, ready: true, checks: {} }), cluster: () => ({}) },
      { host: '127.0.0.1', port: 0, ...init },
    );
    const port = Number(new URL(await server.listen()).port);
    const socket = connect(port, '127.0.0.1');
    socket.pause();
    socket.write('GET /v1/stores/s/observe?type=by_stream&selector=%24all HTTP/1.1\r\nHost: test\r\n\r\n');
    socket.on('error', () => {});
    assert.ok(await eventually(() => subscriptions.length === 1 && subscriptions[0]!.pulled > 0), 'the stream started');
    let last = -1;
    assert.ok(
      await eventually(async () => {
        const settled = subscriptions[0]!.pulled === last;
        last = subscriptions[0]!.pulled;
        return settled;
      }, 10_000, 100),
      'the writer waits for the client to drain',
    );
    return { server, socket, sub: subscriptions[0]! };
  }

  test('closing the server does not wait on a stalled client: its connection is cut after a short grace', async () => {
    const { server, socket, sub } = await stalledStream({});
    try {
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        server.close().then(() => 'closed'),
        new Promise((resolve) => (timer = setTimeout(resolve, 15_000, 'still waiting'))),
      ]);
      clearTimeout(timer);
      assert.equal(outcome, 'closed', 'server.close() used to wait for the client forever');
      assert.notEqual(sub.closedWith, undefined);
      assert.ok(sub.pulled < TOTAL);
    } finally {
      socket.destroy();
    }
  });

  test('a stream whose subscription opens after closing began ends at once, and closing does not wait for it', async () => {
    const opening = Promise.withResolvers<void>();
    const asked = Promise.withResolvers<void>();
    let sub: CountingSubscription | undefined;
    const api = stubApi({
      async observe() {
        asked.resolve();
        await opening.promise; // a slow open: relayed to a peer that is slow to answer
        sub = new CountingSubscription(TOTAL, { blob: BLOB });
        return sub;
      },
    });
    const server = createHttpServer(
      { api, metrics: new GaterMetrics({ collectDefaultMetrics: false }), health: () => ({ live: true, ready: true, checks: {} }), cluster: () => ({}) },
      { host: '127.0.0.1', port: 0 },
    );
    const port = Number(new URL(await server.listen()).port);
    const response = fetch(`http://127.0.0.1:${port}/v1/stores/s/observe?type=by_stream&selector=%24all`).then(async (res) => ({
      status: res.status,
      body: await res.text(),
    }));
    await asked.promise;
    const closing = server.close();
    await new Promise((r) => setTimeout(r, 100));
    opening.resolve();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      closing.then(() => 'closed'),
      new Promise((resolve) => (timer = setTimeout(resolve, 10_000, 'still waiting'))),
    ]);
    clearTimeout(timer);
    assert.equal(outcome, 'closed', 'a stream opened after closeAll used to hold the server open');
    assert.equal(sub?.closedWith, 'server closing');
    const { status, body } = await response;
    assert.equal(status, 200);
    assert.ok(sub!.pulled < TOTAL && !body.includes('event: event'), 'nothing was delivered');
  });

  test('a client that reads nothing for the stall timeout is cut, and its subscription closed', async () => {
    const { server, socket, sub } = await stalledStream({ eventStreamStallTimeoutMs: 300 });
    try {
      assert.ok(await eventually(() => sub.closedWith !== undefined), 'the subscription was closed');
      // The client, reading again, finds its stream cut short: no end of the chunked body.
      const text: string[] = [];
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => text.push(chunk));
      const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.resume();
      await ended;
      assert.ok(!text.join('').endsWith('\r\n0\r\n\r\n'), 'the response was cut, not ended');
      assert.ok(sub.pulled < TOTAL);
    } finally {
      socket.destroy();
      await server.close();
    }
  });
});
