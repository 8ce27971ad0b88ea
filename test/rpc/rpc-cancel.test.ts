/**
 * Cancellation reaches the worker side: the abort signal a served call gets (made lazily, only when the handler asks)
 * fires when the caller gives up or the connection drops, and is already aborted when asked for after the cancel.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { RpcConnection, socketChannel, type RpcHandler } from '../../src/rpc/index.ts';
import type { GaterError } from '../../src/errors/index.ts';
import type { StoreCall, StoreStreamCall } from '../../src/worker/protocol.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

async function pair(handler: RpcHandler): Promise<{ client: RpcConnection; socket: Socket }> {
  const server = createServer((socket) => {
    sockets.push(socket);
    new RpcConnection({ channel: socketChannel(socket), handler }, { peer: 'client' });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
  sockets.push(socket);
  await once(socket, 'connect');
  return { client: new RpcConnection({ channel: socketChannel(socket) }, { peer: 'server' }), socket };
}

/** Fails the test instead of hanging it when what it waits for never happens. */
function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

const call: StoreCall = { store: 's', op: 'streamVersion', args: { streamId: 'x' } };

describe('RpcConnection cancellation', () => {
  it('aborts the served call when the caller times out, with the deadline the caller sent', async () => {
    const seen: { timeoutMs?: number; aborted?: Promise<unknown> } = {};
    const { client } = await pair({
      call: (_call, context) => {
        seen.timeoutMs = context.timeoutMs;
        seen.aborted = once(context.signal, 'abort');
        return new Promise(() => {});
      },
      open: () => Promise.reject(new Error('unused')),
    });
    await assert.rejects(client.call(call, { timeoutMs: 50 }), { code: 'timeout' });
    assert.equal(seen.timeoutMs, 50);
    await within(seen.aborted!);
  });

  it('hands an already aborted signal to a handler that asks after the cancel arrived', async () => {
    let resolveAsked!: (signal: AbortSignal) => void;
    const asked = new Promise<AbortSignal>((resolve) => (resolveAsked = resolve));
    const { client } = await pair({
      call: (_call, context) =>
        new Promise(() => {
          // Ask for the signal only well after the caller has given up.
          setTimeout(() => resolveAsked(context.signal), 150);
        }),
      open: () => Promise.reject(new Error('unused')),
    });
    await assert.rejects(client.call(call, { timeoutMs: 30 }), { code: 'timeout' });
    const signal = await within(asked);
    assert.equal(signal.aborted, true);
  });

  it('aborts served calls when the connection drops', async () => {
    let aborted!: Promise<unknown>;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const { client, socket } = await pair({
      call: (_call, context) => {
        aborted = once(context.signal, 'abort');
        started();
        return new Promise(() => {});
      },
      open: () => Promise.reject(new Error('unused')),
    });
    const pending = client.call(call, { timeoutMs: 10_000 });
    await within(running);
    socket.destroy();
    await assert.rejects(pending, { code: 'unavailable' });
    await within(aborted);
  });

  it('gives up opening a stream when the caller cancels, and closes the stream the peer opens after that', async () => {
    const closedWith = Promise.withResolvers<string | undefined>();
    const asked = Promise.withResolvers<void>();
    const finishOpening = Promise.withResolvers<void>();
    const { client } = await pair({
      call: () => Promise.reject(new Error('unused')),
      open: async () => {
        asked.resolve();
        await finishOpening.promise;
        return {
          id: 'late',
          ended: new Promise<string>(() => {}),
          close: (reason?: string) => closedWith.resolve(reason),
          async *[Symbol.asyncIterator]() {},
        };
      },
    });
    const controller = new AbortController();
    const observe: StoreStreamCall = { store: 's', op: 'observe', spec: { type: 'by_stream', selector: '$all' } };
    const opening = client.open(observe, { timeoutMs: 60_000, signal: controller.signal });
    await within(asked.promise);
    controller.abort();
    // Before: the signal was ignored, and the caller waited for the peer (or the 60 s timeout).
    await within(assert.rejects(opening, { code: 'unavailable', message: /cancelled/ }), 2_000);
    finishOpening.resolve();
    assert.equal(await within(closedWith.promise), 'closed', 'the peer closes what nobody will read');
    await assert.rejects(client.open(observe, { timeoutMs: 60_000, signal: controller.signal }), (err: GaterError) => {
      assert.equal(err.code, 'unavailable');
      assert.equal(err.data['delivered'], false, 'an already cancelled call is never sent');
      return true;
    });
  });
});
