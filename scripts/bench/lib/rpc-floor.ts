/**
 * The floor of the relay benchmark: RPC frames with the RPC's own codec and framing (src/rpc/messages.ts,
 * framing.ts) over a raw TCP socket between two processes, with no store, no gateway and no libp2p. The server answers
 * every call with the result a store would give; the client keeps a number of calls in flight.
 *
 * Two ways of writing, used by both ends: `per-frame`, one socket write per frame; `coalesced`, every frame of one
 * event-loop turn in one write (flushed by setImmediate), as the RPC connection does.
 *
 * As a child process (the server): `node rpc-floor.ts --serve per-frame|coalesced` prints `{"port"}` and serves until
 * its stdin closes.
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { FrameDecoder, encodeFrames } from '../../../src/rpc/framing.ts';
import { RpcKind, decodeMessage, encodeMessage } from '../../../src/rpc/messages.ts';
import type { StoreCall } from '../../../src/worker/protocol.ts';

export type WriteMode = 'per-frame' | 'coalesced';

/** Writes frames to a socket, one write each or gathered per event-loop turn. */
class FrameWriter {
  private readonly socket: Socket;
  private readonly mode: WriteMode;
  private pending: Uint8Array[] = [];
  private scheduled = false;

  constructor(socket: Socket, mode: WriteMode) {
    this.socket = socket;
    this.mode = mode;
  }

  write(payload: Uint8Array): void {
    if (this.mode === 'per-frame') {
      this.socket.write(encodeFrames([payload]));
      return;
    }
    this.pending.push(payload);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const frames = this.pending;
      this.pending = [];
      if (!this.socket.destroyed) this.socket.write(encodeFrames(frames));
    });
  }
}

/** What the store would answer. */
function resultOf(call: StoreCall): unknown {
  switch (call.op) {
    case 'streamVersion':
      return 0;
    case 'append':
      return { version: 12, position: 123_456 };
    default:
      return null;
  }
}

export function serveFloor(mode: WriteMode): Promise<number> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const writer = new FrameWriter(socket, mode);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk) => {
      for (const frame of decoder.push(chunk)) {
        const m = decodeMessage(frame);
        if (m?.k === RpcKind.Call) writer.write(encodeMessage({ k: RpcKind.Result, id: m.id, result: resultOf(m.call) }));
      }
    });
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/** The client side: `call` sends one call and resolves with its result. */
export async function floorClient(port: number, mode: WriteMode): Promise<{ call(call: StoreCall): Promise<unknown>; close(): void }> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const writer = new FrameWriter(socket, mode);
  const decoder = new FrameDecoder();
  const pending = new Map<number, (result: unknown) => void>();
  let nextId = 1;
  socket.on('data', (chunk) => {
    for (const frame of decoder.push(chunk)) {
      const m = decodeMessage(frame);
      if (m?.k !== RpcKind.Result) continue;
      const resolve = pending.get(m.id);
      pending.delete(m.id);
      resolve?.(m.result);
    }
  });
  return {
    call(call) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        writer.write(encodeMessage({ k: RpcKind.Call, id, call, timeoutMs: 5_000 }));
      });
    },
    close: () => socket.destroy(),
  };
}

if (process.argv[1] === import.meta.filename) {
  const { values } = parseArgs({ options: { serve: { type: 'string' } } });
  const mode = values.serve;
  if (mode !== 'per-frame' && mode !== 'coalesced') {
    console.error('usage: rpc-floor.ts --serve per-frame|coalesced');
    process.exit(2);
  }
  console.log(JSON.stringify({ port: await serveFloor(mode) }));
  process.stdin.resume();
  await once(process.stdin, 'end');
  process.exit(0);
}
