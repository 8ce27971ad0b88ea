/**
 * Real libp2p meshes over TCP on 127.0.0.1, all holding the same secret: they connect with one side dialing,
 * exchange gossipsub messages both ways, answer requests over custom protocols, hang up on `forget` without
 * redialing, and redial a dropped connection.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { GaterError } from '../../src/errors/index.ts';
import type { Mesh } from '../../src/mesh/index.ts';
import {
  SECRET_OLD,
  SUITE_TIMEOUT_MS,
  byPeerId,
  connectAll,
  isConnectedPair,
  makeMesh,
  nextEvent,
  sleep,
  waitFor,
} from './support.ts';

const secrets = { primary: SECRET_OLD, previous: [] };
const TOPIC = 'mesh-test/topic';

describe('a mesh of three nodes with one secret', { timeout: SUITE_TIMEOUT_MS }, () => {
  const meshes: Mesh[] = [];
  after(() => Promise.all(meshes.map((m) => m.stop())), { timeout: 10_000 });

  it('connects every pair with exactly one connection, dialed by the smaller peer id', async () => {
    for (let i = 0; i < 3; i++) meshes.push(await makeMesh(secrets));
    await Promise.all(meshes.map((m) => m.start()));
    connectAll(meshes);
    await waitFor('every pair connected', () => meshes.every((m) => m.connectedPeers().length === 2));
    // Let any second connection a wrong rule would have dialed show up.
    await sleep(300);
    for (const m of meshes) {
      const conns = m.connections();
      assert.equal(conns.length, 2, `${m.peerId} has ${conns.length} connections`);
      for (const c of conns) assert.equal(c.direction, m.peerId < c.peerId ? 'outbound' : 'inbound');
    }
  });

  it('delivers gossipsub messages from every node to every other, with the author as sender', async () => {
    const received = new Map<string, string[]>(meshes.map((m) => [m.peerId, []]));
    const unsubscribes = meshes.map((m) =>
      m.subscribe(TOPIC, (data, from) => received.get(m.peerId)!.push(`${from}:${Buffer.from(data).toString()}`)),
    );
    await waitFor('subscriptions known to every peer', () => meshes.every((m) => m.topicPeers(TOPIC).length === 2));
    for (const m of meshes) assert.equal(await m.publish(TOPIC, Buffer.from(`hello from ${m.peerId}`)), 2);
    await waitFor('two messages at every node', () => [...received.values()].every((got) => got.length === 2));
    await sleep(100);
    for (const m of meshes) {
      const expected = meshes.filter((o) => o !== m).map((o) => `${o.peerId}:hello from ${o.peerId}`);
      assert.deepEqual([...received.get(m.peerId)!].sort(), expected.sort(), 'exactly once each, none from self');
    }
    unsubscribes.forEach((unsubscribe) => unsubscribe());
  });

  it('answers unary requests on a custom protocol, in both directions', async () => {
    const [a, b] = meshes as [Mesh, Mesh];
    const protocol = '/mesh-test/upper/1.0.0';
    for (const m of [a, b]) {
      await m.handleRequests(protocol, (request, from) => {
        return Buffer.from(`${Buffer.from(request).toString().toUpperCase()} for ${from}`);
      });
    }
    const ab = await a.request(b.peerId, protocol, Buffer.from('ping from a'));
    assert.equal(Buffer.from(ab).toString(), `PING FROM A for ${a.peerId}`);
    const ba = await b.request(a.peerId, protocol, Buffer.from('ping from b'));
    assert.equal(Buffer.from(ba).toString(), `PING FROM B for ${b.peerId}`);
    // A large request crosses in many chunks.
    const big = Buffer.alloc(3 * 1024 * 1024, 'x');
    const echoed = await a.request(b.peerId, protocol, big);
    assert.equal(echoed.byteLength, big.byteLength + ` for ${a.peerId}`.length);
    // Size limits: the answer is refused by the requester, the request by the handler (which resets the stream).
    const isUnavailable = (err: unknown) => err instanceof GaterError && err.code === 'unavailable';
    const hundred = Buffer.from('x'.repeat(100));
    await assert.rejects(a.request(b.peerId, protocol, hundred, { maxResponseBytes: 64 }), isUnavailable);
    const small = '/mesh-test/small/1.0.0';
    await b.handleRequests(small, (request) => request, { maxRequestBytes: 1024 });
    assert.equal((await a.request(b.peerId, small, new Uint8Array(1024))).byteLength, 1024);
    await assert.rejects(a.request(b.peerId, small, new Uint8Array(1025)), isUnavailable);
    // A deadline that passes while the handler thinks is the caller's abort reason.
    const slow = '/mesh-test/slow/1.0.0';
    await b.handleRequests(slow, async (request) => {
      await sleep(2_000);
      return request;
    });
    const signal = AbortSignal.timeout(100);
    await assert.rejects(a.request(b.peerId, slow, new Uint8Array(1), { signal }), { name: 'TimeoutError' });
  });

  it('carries many frames both ways over one long-lived stream', async () => {
    const [a, b] = meshes as [Mesh, Mesh];
    const protocol = '/mesh-test/echo/1.0.0';
    await b.handle(protocol, async (stream) => {
      for await (const chunk of stream) stream.send(chunk.subarray());
      await stream.close();
    });
    const stream = await a.dialProtocol(b.peerId, protocol);
    const frames = 1_000;
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      stream.addEventListener('message', (evt) => {
        received += evt.data.byteLength;
        if (received === frames * 72) resolve();
      });
      stream.addEventListener('close', () => reject(new Error('stream closed early')));
      setTimeout(() => reject(new Error(`only ${received} bytes echoed`)), 10_000).unref();
    });
    for (let i = 0; i < frames; i++) stream.send(new Uint8Array(72).fill(i % 256));
    await done;
    await stream.close();
    assert.equal(received, frames * 72);
  });

  it('refuses a protocol stream to a peer it is not connected to, at once and without dialing', async () => {
    const stranger = await makeMesh(secrets);
    meshes.push(stranger);
    await stranger.start();
    await assert.rejects(
      meshes[0]!.dialProtocol(stranger.peerId, '/mesh-test/echo/1.0.0'),
      (err: unknown) => err instanceof GaterError && err.code === 'unavailable',
    );
    assert.equal(meshes[0]!.isConnected(stranger.peerId), false);
    assert.equal(stranger.connectedPeers().length, 0);
  });
});

describe('forget', { timeout: SUITE_TIMEOUT_MS }, () => {
  const meshes: Mesh[] = [];
  after(() => Promise.all(meshes.map((m) => m.stop())), { timeout: 10_000 });

  async function connectedPair(): Promise<[Mesh, Mesh]> {
    const pair = byPeerId([await makeMesh(secrets), await makeMesh(secrets)]) as [Mesh, Mesh];
    meshes.push(...pair);
    await Promise.all(pair.map((m) => m.start()));
    connectAll(pair);
    await waitFor('pair connected', () => isConnectedPair(...pair));
    return pair;
  }

  it('on the dialing side hangs up and never redials', async () => {
    const [dialer, waiter] = await connectedPair();
    const disconnected = nextEvent(waiter, 'peer:disconnected');
    await dialer.forget(waiter.peerId);
    await disconnected;
    assert.equal(dialer.isWanted(waiter.peerId), false);
    // Many times the redial ceiling (200 ms in these tests).
    await sleep(1_000);
    assert.equal(dialer.isConnected(waiter.peerId), false);
    assert.equal(waiter.isConnected(dialer.peerId), false);
  });

  it('on the waiting side hangs up and refuses the redials of a dialer still wanting it, until wanted again', async () => {
    const [dialer, waiter] = await connectedPair();
    await waiter.forget(dialer.peerId);
    await waitFor('hung up', () => !dialer.isConnected(waiter.peerId) && !waiter.isConnected(dialer.peerId));
    assert.equal(dialer.isWanted(waiter.peerId), true, 'the dialer still wants the waiter');
    await sleep(1_000);
    assert.equal(waiter.isConnected(dialer.peerId), false, 'redials are refused');
    assert.ok(waiter.stats().inboundRefused.forgotten >= 1, 'and counted');
    // Discovery sees the peer again: the next redial gets through.
    waiter.connect(dialer.peerId, dialer.addrs());
    await waitFor('reconnected', () => isConnectedPair(dialer, waiter));
  });
});

describe('redial', { timeout: SUITE_TIMEOUT_MS }, () => {
  const meshes: Mesh[] = [];
  after(() => Promise.all(meshes.map((m) => m.stop())), { timeout: 10_000 });

  it('redials a connection dropped by either side', async () => {
    const [dialer, waiter] = byPeerId([await makeMesh(secrets), await makeMesh(secrets)]) as [Mesh, Mesh];
    meshes.push(dialer, waiter);
    await Promise.all([dialer.start(), waiter.start()]);
    connectAll([dialer, waiter]);
    await waitFor('connected', () => isConnectedPair(dialer, waiter));
    for (const [side, other] of [[waiter, dialer], [dialer, waiter]] as const) {
      const before = dialer.connections()[0]!.openedAt;
      const dropped = nextEvent(dialer, 'peer:disconnected');
      await side.hangUp(other.peerId);
      await dropped;
      await waitFor('redialled', () => isConnectedPair(dialer, waiter) && dialer.connections()[0]!.openedAt !== before);
      assert.equal(dialer.connections().length, 1);
      assert.equal(dialer.connections()[0]!.direction, 'outbound');
    }
  });

  it('keeps redialing a peer that went away and reconnects when it comes back on the same port', async () => {
    const [d, w] = await pairWithWaiterOn(await freePort());
    meshes.push(d, w);
    await Promise.all([d.start(), w.start()]);
    connectAll([d, w]);
    await waitFor('connected', () => isConnectedPair(d, w));
    await w.stop();
    await waitFor('dialer saw the drop', () => !d.isConnected(w.peerId));
    await sleep(500); // several failed redials
    assert.equal(d.isConnected(w.peerId), false);
    await w.start();
    await waitFor('reconnected after the restart', () => isConnectedPair(d, w));
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A dialer on any port and a waiter (larger peer id) on `port`: keys are drawn until the order fits. */
async function pairWithWaiterOn(port: number): Promise<[Mesh, Mesh]> {
  for (;;) {
    const a = await makeMesh(secrets);
    const b = await makeMesh(secrets, { port });
    if (a.peerId < b.peerId) return [a, b];
  }
}

describe('input and lifecycle', { timeout: SUITE_TIMEOUT_MS }, () => {
  const invalid = (field: string) => (err: unknown) =>
    err instanceof GaterError && err.code === 'invalid_argument' && err.data['field'] === field;

  it('rejects bad options and peer ids, naming the field', async () => {
    await assert.rejects(makeMesh(secrets, { port: 70_000 }), invalid('port'));
    await assert.rejects(makeMesh(secrets, { listenHost: 'localhost' }), invalid('listenHost'));
    await assert.rejects(makeMesh(secrets, { clusterName: '' }), invalid('clusterName'));
    await assert.rejects(makeMesh(secrets, { announceHosts: ['10.0.0.1', 'a b'] }), invalid('announceHosts[1]'));
    const mesh = await makeMesh(secrets);
    assert.throws(() => mesh.connect('not-a-peer-id', []), invalid('peerId'));
    const isUnavailable = (err: unknown) => err instanceof GaterError && err.code === 'unavailable';
    await assert.rejects(mesh.publish(TOPIC, new Uint8Array(1)), isUnavailable);
  });

  it('starts and stops idempotently, restarts, announces the configured hosts, and reports a port in use', async () => {
    const mesh = await makeMesh(secrets, { announceHosts: ['10.1.2.3', 'node-1.lan'] });
    assert.deepEqual(mesh.addrs(), []);
    await Promise.all([mesh.start(), mesh.start()]);
    const port = Number(mesh.addrs()[0]!.split('/')[4]);
    assert.deepEqual(mesh.addrs(), [
      `/ip4/10.1.2.3/tcp/${port}/p2p/${mesh.peerId}`,
      `/dns/node-1.lan/tcp/${port}/p2p/${mesh.peerId}`,
    ]);
    const squatter = await makeMesh(secrets, { port });
    await assert.rejects(squatter.start(), (err: unknown) => err instanceof GaterError && err.code === 'unavailable');
    assert.equal(squatter.started, false);
    await mesh.stop();
    await mesh.stop();
    assert.equal(mesh.started, false);
    await mesh.start();
    const peer = await makeMesh(secrets);
    await peer.start();
    try {
      await peer.dial(mesh.peerId, [`/ip4/127.0.0.1/tcp/${Number(mesh.addrs()[0]!.split('/')[4])}`]);
      await waitFor('connected after a restart', () => mesh.isConnected(peer.peerId));
    } finally {
      await Promise.all([mesh.stop(), peer.stop(), squatter.stop()]);
    }
  });
});
