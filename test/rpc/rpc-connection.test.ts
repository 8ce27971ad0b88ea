/**
 * The RPC connection over real TCP sockets on 127.0.0.1: matching by id, typed errors, coalesced writes, deadlines,
 * flow control, and failing fast when the connection drops. Stores are replaced by a scripted handler here; relaying
 * to real workers is proven by the cluster tests.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { GaterError, WrongExpectedVersionError } from '../../src/errors/index.ts';
import { EARLY_FLUSH_FRAMES, RpcConnection, socketChannel, type ByteChannel, type RpcHandler } from '../../src/rpc/index.ts';
import type { Delivery, EventSubscription } from '../../src/store/subscriptions/types.ts';
import type { StoreCall } from '../../src/worker/protocol.ts';

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

function event(position: number): Delivery {
  return {
    attempt: 1,
    event: {
      eventId: `id-${position}`, eventType: 't', streamId: 's', version: position, position, data: { position }, metadata: {},
      tags: [], timestamp: '2026-01-01T00:00:00.000Z', epochUs: 0, dataContentType: 'application/json', metadataContentType: 'application/json',
    },
  };
}

/** A subscription that yields `count` events and records how far the producer got. */
function countingSubscription(count: number, progress: { produced: number }): EventSubscription {
  let closed = false;
  let resolveEnded!: (r: string) => void;
  const ended = new Promise<string>((r) => (resolveEnded = r));
  return {
    id: 'sub',
    ended,
    close(reason = 'closed') {
      closed = true;
      resolveEnded(reason);
    },
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < count && !closed; i++) {
        progress.produced = i + 1;
        yield event(i);
      }
      resolveEnded('finished');
    },
  };
}

async function pair(handler: RpcHandler, wrap: (c: ByteChannel) => ByteChannel = (c) => c) {
  const serverSockets: Socket[] = [];
  const server = createServer((socket) => {
    serverSockets.push(socket);
    new RpcConnection({ channel: socketChannel(socket), handler }, { peer: 'client' });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', r));
  const client = new RpcConnection({ channel: wrap(socketChannel(socket)) }, { peer: 'server', streamCredit: 16 });
  return { client, socket, serverSockets };
}

const echo: RpcHandler = {
  call: async (call: StoreCall) => {
    if (call.op === 'append') throw new WrongExpectedVersionError('s', 0, 5);
    if (call.op === 'stats') return new Promise(() => {});
    return { echoed: call.args };
  },
  open: async () => countingSubscription(0, { produced: 0 }),
};

describe('RpcConnection', () => {
  it('matches 2,000 concurrent calls to their answers, coalescing writes', async () => {
    let sends = 0;
    const { client, socket } = await pair(echo, (c) => ({ ...c, send: (b) => (sends++, c.send(b)) }));
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => client.call({ store: 'x', op: 'streamVersion', args: { streamId: `s-${i}` } }, { timeoutMs: 5000 })),
    );
    results.forEach((r, i) => assert.deepEqual(r, { echoed: { streamId: `s-${i}` } }));
    // Coalesced: a write per EARLY_FLUSH_FRAMES frames at most, plus the tail of each turn.
    assert.ok(sends <= Math.ceil(2000 / EARLY_FLUSH_FRAMES) + 5, `2,000 calls went out in ${sends} writes`);
    socket.destroy();
  });

  it('rebuilds typed errors with their data', async () => {
    const { client, socket } = await pair(echo);
    await assert.rejects(client.call({ store: 'x', op: 'append', args: { streamId: 's', events: [] } }, { timeoutMs: 5000 }), (err: unknown) => {
      assert.ok(err instanceof WrongExpectedVersionError);
      assert.equal(err.currentVersion, 5);
      return true;
    });
    socket.destroy();
  });

  it('times out a call the peer never answers', async () => {
    const { client, socket } = await pair(echo);
    await assert.rejects(client.call({ store: 'x', op: 'stats', args: {} }, { timeoutMs: 50 }), { code: 'timeout' });
    assert.equal(client.inFlight, 0);
    socket.destroy();
  });

  it('fails pending calls at once with unavailable when the connection drops', async () => {
    const { client, serverSockets } = await pair(echo);
    const hanging = client.call({ store: 'x', op: 'stats', args: {} }, { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 50));
    for (const s of serverSockets) s.destroy();
    await assert.rejects(hanging, (err: unknown) => {
      assert.ok(err instanceof GaterError);
      assert.equal(err.code, 'unavailable');
      assert.notEqual(err.data['delivered'], false, 'the request had been sent: outcome unknown');
      return true;
    });
    await assert.rejects(client.call({ store: 'x', op: 'stats', args: {} }, { timeoutMs: 1000 }), (err: unknown) => {
      assert.ok(err instanceof GaterError && err.data['delivered'] === false, 'a call after the drop never left');
      return true;
    });
  });

  it('streams 10,000 deliveries in order, never more than the credit ahead of the consumer', async () => {
    const progress = { produced: 0 };
    const handler: RpcHandler = { ...echo, open: async () => countingSubscription(10_000, progress) };
    const { client, socket } = await pair(handler);
    const sub = await client.open({ store: 'x', op: 'observe', spec: { type: 'by_stream', selector: '$all' } }, { timeoutMs: 5000 });
    let expected = 0;
    let maxAhead = 0;
    for await (const d of sub) {
      assert.equal(d.event.position, expected++);
      maxAhead = Math.max(maxAhead, progress.produced - expected);
      if (expected % 1000 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(expected, 10_000);
    assert.equal(await sub.ended, 'finished');
    assert.ok(maxAhead <= 16 + 1, `the producer ran at most the credit ahead (${maxAhead})`);
    socket.destroy();
  });

  it('stops the producer when the consumer closes', async () => {
    const progress = { produced: 0 };
    const handler: RpcHandler = { ...echo, open: async () => countingSubscription(1_000_000, progress) };
    const { client, socket } = await pair(handler);
    const sub = await client.open({ store: 'x', op: 'observe', spec: { type: 'by_stream', selector: '$all' } }, { timeoutMs: 5000 });
    let n = 0;
    for await (const _ of sub) if (++n === 100) break;
    await new Promise((r) => setTimeout(r, 100));
    const frozen = progress.produced;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(progress.produced, frozen, 'nothing more is produced after close');
    assert.ok(frozen < 200);
    socket.destroy();
  });

  it('closes a subscription whose opening the caller gave up on before the worker finished it', async () => {
    const progress = { produced: 0 };
    let served: EventSubscription | undefined;
    const endings: string[] = [];
    const handler: RpcHandler = {
      ...echo,
      open: async () => {
        await new Promise((r) => setTimeout(r, 150));
        served = countingSubscription(1_000_000, progress);
        void served.ended.then((reason) => endings.push(reason));
        return served;
      },
    };
    const { client, socket } = await pair(handler);
    try {
      await assert.rejects(
        client.open({ store: 'x', op: 'observe', spec: { type: 'by_stream', selector: '$all' } }, { timeoutMs: 30 }),
        { code: 'timeout' },
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(served !== undefined, 'the worker did open it, late');
      assert.deepEqual(endings, ['closed'], 'and closed it at once instead of serving nobody');
      assert.equal(progress.produced, 0, 'nothing was produced for a caller that had left');
    } finally {
      served?.close();
      socket.destroy();
    }
  });

  it('survives garbage from the peer: malformed frames are dropped, oversized ones close the connection', async () => {
    const { client, serverSockets } = await pair(echo);
    const peerSide = serverSockets[0]!;
    const junk = Buffer.from('not json at all');
    const frame = Buffer.alloc(4 + junk.length);
    frame.writeUInt32BE(junk.length);
    junk.copy(frame, 4);
    peerSide.write(frame);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.malformed, 1);
    assert.equal(client.isClosed, false);
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0xffffffff);
    peerSide.write(huge);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.isClosed, true);
  });
});
