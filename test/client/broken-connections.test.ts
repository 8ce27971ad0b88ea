/**
 * Connections that break after the request reached the node: a TCP proxy in front of a real node passes each request
 * on, then resets the client's connection instead of passing the answer back. The node carried the call out, so the
 * client must not say it could not reach it: a call it does not repeat on its own fails with `outcome: 'unknown'`,
 * and a failed append names the event ids it used, so that the caller's repeat writes nothing twice.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GaterClient } from '../../src/client/index.ts';
import { GaterError, TimeoutError } from '../../src/errors/index.ts';
import { freePort } from '../support/gater-process.ts';
import { createTestApi, type TestApi } from '../support/real-api.ts';

const STORE = 'default';

/** Passes requests to `port`; while `resetting`, answers every one with a connection reset instead of the node's answer. */
class ResettingProxy {
  resetting = true;
  private readonly port: number;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(port: number) {
    this.port = port;
    this.server = net.createServer((downstream) => this.pass(downstream));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private pass(downstream: net.Socket): void {
    const upstream = net.connect(this.port, '127.0.0.1');
    for (const socket of [downstream, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    }
    downstream.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!this.resetting) return void downstream.write(chunk);
      downstream.resetAndDestroy();
      upstream.destroy();
    });
    downstream.on('error', () => upstream.destroy());
    upstream.on('error', () => downstream.destroy());
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  }
}

describe('connections that break after the request was sent', () => {
  let node: TestApi;
  let proxy: ResettingProxy;
  let direct: GaterClient;
  let broken: GaterClient;

  before(async () => {
    node = await createTestApi();
    direct = new GaterClient({}, { url: node.url });
    proxy = new ResettingProxy(Number(new URL(node.url).port));
    broken = new GaterClient({}, { url: await proxy.start() });
  });
  after(async () => {
    broken.close();
    direct.close();
    await proxy.close();
    await node.close();
  });

  it('reports an append the node wrote as of unknown outcome, with the event ids that make its repeat harmless', async () => {
    const events = [
      { eventType: 'order_placed:v1', data: { amount: 100 } },
      { eventType: 'order_placed:v1', data: { amount: 200 } },
    ];
    const error = await broken.appendEvents(STORE, 'orders', events, { deadlineMs: 1_000 }).then(
      () => assert.fail('the append got an answer through a proxy that answers none'),
      (err: unknown) => err,
    );
    assert.ok(error instanceof GaterError);
    assert.equal(error.code, 'unavailable');
    assert.equal(error.data['outcome'], 'unknown');
    assert.doesNotMatch(error.message, /cannot reach/);
    const eventIds = error.data['eventIds'] as string[];
    assert.deepEqual((await direct.getEvents(STORE, 'orders')).map((e) => e.eventId), eventIds, 'the node wrote the events');

    await direct.appendEvents(STORE, 'orders', events.map((e, i) => ({ ...e, eventId: eventIds[i]! })));
    assert.equal(await direct.getVersion(STORE, 'orders'), 1, 'the repeat with the ids wrote nothing');
  });

  it('reports a deletion the node carried out as of unknown outcome, not as a node it could not reach', async () => {
    await direct.appendEvents(STORE, 'doomed', [{ eventType: 'x' }]);
    await assert.rejects(broken.deleteStream(STORE, 'doomed'), (err: unknown) => {
      assert.ok(err instanceof GaterError);
      assert.equal(err.code, 'unavailable');
      assert.equal(err.data['outcome'], 'unknown');
      assert.doesNotMatch(err.message, /cannot reach/);
      return true;
    });
    assert.equal(await direct.getVersion(STORE, 'doomed'), -1);
  });

  it('gives the event ids with an append that timed out on a node that never answers', async () => {
    const hung = http.createServer(() => undefined);
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const client = new GaterClient({}, { url: `http://127.0.0.1:${(hung.address() as net.AddressInfo).port}` });
    try {
      await assert.rejects(client.appendEvents(STORE, 's', [{ eventType: 'x', eventId: 'caller-id' }, { eventType: 'y' }], { deadlineMs: 300 }), (err: unknown) => {
        assert.ok(err instanceof TimeoutError);
        const [given, generated] = err.data['eventIds'] as string[];
        assert.equal(given, 'caller-id');
        assert.match(generated!, /^[0-9a-f-]{36}$/);
        return true;
      });
    } finally {
      hung.closeAllConnections();
      hung.close();
    }
  });

  it('still says a node that refused the connection was not reached, with no unknown outcome', async () => {
    const client = new GaterClient({}, { url: `http://127.0.0.1:${await freePort()}`, deadlineMs: 300 });
    await assert.rejects(client.deleteStream(STORE, 'x'), (err: unknown) => {
      assert.ok(err instanceof GaterError);
      assert.equal(err.code, 'unavailable');
      assert.match(err.message, /cannot reach .* \(connection refused\)/);
      assert.equal(err.data['outcome'], undefined);
      assert.equal(err.data['eventIds'], undefined);
      return true;
    });
  });
});
