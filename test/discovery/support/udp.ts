/**
 * Helpers of the discovery tests that use real sockets, all on 127.0.0.1.
 */
export { freeUdpPort, sleep } from '../../support/gater-process.ts';
import { createSocket } from 'node:dgram';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** A multicast group of the local scope, different for every test so that concurrent tests never hear each other. */
export function randomGroup(): string {
  return `239.255.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
}

/** A gossip port for a test's shared multicast port, 46000–49000. */
export function randomPort(): number {
  return 46_000 + Math.floor(Math.random() * 3_000);
}

/** Polls `check` until it returns a value other than undefined or false; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}


/** A logger at `level` whose lines are kept, parsed, in `lines`. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/** A socket on 127.0.0.1 that sends raw datagrams and keeps what it receives. */
export async function rawSocket(): Promise<{
  port: number;
  received: Buffer[];
  send(data: Buffer | Uint8Array, port: number, address?: string): Promise<void>;
  close(): Promise<void>;
}> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (data) => received.push(data));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    port: socket.address().port,
    received,
    send: (data, port, address = '127.0.0.1') =>
      new Promise((resolve, reject) => socket.send(data, port, address, (err) => (err ? reject(err) : resolve()))),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
