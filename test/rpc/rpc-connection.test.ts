/**
 * The RPC connection over real TCP sockets on 127.0.0.1: matching by id, typed errors, coalesced writes, deadlines,
 * flow control, and failing fast when the connection drops. Stores are replaced by a scripted handler here; relaying
 * to real workers is proven by the cluster tests.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { GaterError, NotFoundError, WrongExpectedVersionError } from '../../src/errors/index.ts';
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

async function pair(
  handler: RpcHandler,
  wrap: (c: ByteChannel) => ByteChannel = (c) => c,
  init: { maxFrameBytes?: number } = {},
) {
  const serverSockets: Socket[] = [];
  const server = createServer((socket) => {
    serverSockets.push(socket);
    new RpcConnection({ channel: socketChannel(socket), handler }, { ...init, peer: 'client' });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', r));
  const client = new RpcConnection({ channel: wrap(socketChannel(socket)) }, { ...init, peer: 'server', streamCredit: 16 });
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

  describe('a message too large for a frame, or not encodable, fails alone; the connection goes on', () => {
    const LIMIT = 64 * 1024;
    const big = 'x'.repeat(LIMIT);
    const sized: RpcHandler = {
      call: async (call: StoreCall) => (call.op === 'readStream' ? { events: [big] } : { echoed: call.args }),
      open: async () => {
        const events = [event(0), { ...event(1), event: { ...event(1).event, data: { big } } }, event(2)];
        return listSubscription(events);
      },
    };
    const small = (client: RpcConnection) =>
      client.call({ store: 'x', op: 'streamVersion', args: { streamId: 'ok' } }, { timeoutMs: 5000 });
    /** Runs `check` on a client whose frames are limited to LIMIT, then proves the connection still serves calls. */
    const onSizedPair = async (check: (client: RpcConnection) => Promise<void>) => {
      const { client, socket } = await pair(sized, undefined, { maxFrameBytes: LIMIT });
      try {
        await check(client);
        assert.equal(client.isClosed, false);
        assert.deepEqual(await small(client), { echoed: { streamId: 'ok' } });
      } finally {
        socket.destroy();
      }
    };

    it('an answer over the limit is an invalid_argument error for its call only', () =>
      onSizedPair(async (client) => {
        const [tooBig, other] = await Promise.allSettled([
          client.call({ store: 'x', op: 'readStream', args: { streamId: 's' } }, { timeoutMs: 5000 }),
          small(client),
        ]);
        assert.equal(tooBig.status, 'rejected');
        assert.equal((tooBig.reason as GaterError).code, 'invalid_argument');
        assert.match((tooBig.reason as GaterError).message, /over the limit of 65536 bytes/);
        assert.deepEqual(other, { status: 'fulfilled', value: { echoed: { streamId: 'ok' } } });
      }));

    it('a call over the limit, or nested too deep to encode, is refused before it is registered', () =>
      onSizedPair(async (client) => {
        const deep: Record<string, unknown> = {};
        let at = deep;
        for (let i = 0; i < 100_000; i++) at = (at['a'] = {}) as Record<string, unknown>;
        for (const args of [{ streamId: 's', events: [{ eventType: 't', data: big }] }, { streamId: 's', events: [{ eventType: 't', data: deep }] }]) {
          await assert.rejects(
            client.call({ store: 'x', op: 'append', args }, { timeoutMs: 5000 }),
            (err: GaterError) => err.code === 'invalid_argument',
          );
          assert.equal(client.inFlight, 0);
        }
      }));

    it('a delivery over the limit ends its stream with an error the consumer sees, after the deliveries before it', () =>
      onSizedPair(async (client) => {
        const stream = await client.open({ store: 'x', op: 'observe', spec: {} } as never, { timeoutMs: 5000 });
        const seen: number[] = [];
        await assert.rejects(
          (async () => {
            for await (const d of stream) seen.push(d.event.position);
          })(),
          (err: GaterError) => err.code === 'invalid_argument' && /position 1/.test(err.message),
        );
        assert.deepEqual(seen, [0]);
      }));
  });

  it("throws a stream's error at the consumer, as a local subscription would", async () => {
    const failing: RpcHandler = {
      call: echo.call,
      open: async () => listSubscription([event(0), event(1)], new NotFoundError("subscription 'gone'")),
    };
    const { client, socket } = await pair(failing);
    try {
      const stream = await client.open({ store: 'x', op: 'observe', spec: {} } as never, { timeoutMs: 5000 });
      const seen: number[] = [];
      await assert.rejects(
        (async () => {
          for await (const d of stream) seen.push(d.event.position);
        })(),
        (err: GaterError) => err.code === 'not_found',
      );
      assert.deepEqual(seen, [0, 1]);
    } finally {
      socket.destroy();
    }
  });

  it('never sends a call given up on while it waited in the outbox (channel full): not cancelled, not run', async () => {
    const executed: string[] = [];
    const recording: RpcHandler = {
      call: async (call: StoreCall) => (executed.push((call.args as { streamId: string }).streamId), null),
      open: echo.open,
    };
    let full = true;
    let drain: (() => void) | undefined;
    // The first write goes out but reports the buffer full: what follows waits in the outbox until `drain`.
    const { client, socket } = await pair(recording, (c) => ({
      ...c,
      send: (bytes) => c.send(bytes) && !full,
      onDrain: (listener) => {
        drain = listener;
        c.onDrain(() => {});
      },
    }));
    try {
      const call = (streamId: string, options: { timeoutMs: number; signal?: AbortSignal }) =>
        client.call({ store: 'x', op: 'streamVersion', args: { streamId } }, options);
      await call('first', { timeoutMs: 5000 });
      const controller = new AbortController();
      const cancelled = call('cancelled', { timeoutMs: 5000, signal: controller.signal });
      const timedOut = call('timed-out', { timeoutMs: 30 });
      await new Promise((r) => setImmediate(r));
      controller.abort();
      await assert.rejects(cancelled, (err: GaterError) => err.code === 'unavailable' && err.data['delivered'] === false);
      await assert.rejects(timedOut, (err: GaterError) => err.code === 'timeout');
      full = false;
      drain!();
      await call('after', { timeoutMs: 5000 });
      assert.deepEqual(executed, ['first', 'after']);
      assert.equal(client.inFlight, 0);
    } finally {
      socket.destroy();
    }
  });
});

/** A subscription that yields `deliveries`, then ends, or fails with `error`. */
function listSubscription(deliveries: Delivery[], error?: Error): EventSubscription {
  let resolveEnded!: (r: string) => void;
  const ended = new Promise<string>((r) => (resolveEnded = r));
  return {
    id: 'list',
    ended,
    close(reason = 'closed') {
      resolveEnded(reason);
    },
    async *[Symbol.asyncIterator]() {
      for (const d of deliveries) yield d;
      if (error !== undefined) {
        resolveEnded('error');
        throw error;
      }
      resolveEnded('finished');
    },
  };
}
