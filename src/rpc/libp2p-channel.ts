/**
 * A ByteChannel over a libp2p v3 stream (message events in, `send` out, `drain` for backpressure).
 */
import type { Stream } from '@libp2p/interface';
import type { ByteChannel } from './byte-channel.ts';

export function streamChannel(stream: Stream): ByteChannel {
  return {
    send: (bytes) => {
      if (stream.status !== 'open') return false;
      return stream.send(bytes);
    },
    onDrain: (listener) => stream.addEventListener('drain', () => listener()),
    onData: (listener) =>
      stream.addEventListener('message', (evt) => {
        const data = evt.data;
        // A Uint8ArrayList is a list of chunks; hand them over without copying into one.
        if (data instanceof Uint8Array) listener(data);
        else for (const chunk of data) listener(chunk);
      }),
    onClose: (listener) => stream.addEventListener('close', (evt) => listener(evt.error), { once: true }),
    close: () => {
      stream.abort(new Error('closed by gater'));
    },
  };
}
