/**
 * The duplex byte pipe an RPC connection runs over: a libp2p stream in production, a raw TCP socket for the
 * benchmark floor. Only moves bytes.
 */
import type { Socket } from 'node:net';

export interface ByteChannel {
  /** Queues bytes; false means the channel's buffer is full and the writer should wait for `onDrain`. */
  send(bytes: Uint8Array): boolean;
  onDrain(listener: () => void): void;
  onData(listener: (chunk: Uint8Array) => void): void;
  /** Called once when the channel closes, with the error if it failed. */
  onClose(listener: (err?: Error) => void): void;
  close(): void;
}

/** A ByteChannel over a node:net socket. */
export function socketChannel(socket: Socket): ByteChannel {
  socket.setNoDelay(true);
  return {
    send: (bytes) => socket.write(bytes),
    onDrain: (listener) => socket.on('drain', listener),
    onData: (listener) => socket.on('data', listener),
    onClose: (listener) => {
      let error: Error | undefined;
      socket.on('error', (err) => (error = err));
      socket.once('close', () => listener(error));
    },
    close: () => socket.destroy(),
  };
}
