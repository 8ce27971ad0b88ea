/**
 * Which codec the RPC should use, by measurement: JSON (JSON.stringify + TextEncoder, TextDecoder + JSON.parse) against
 * MessagePack (msgpackr, plain maps, no shared record structures since a peer may restart between messages), on the
 * messages store calls really exchange. Each message is encoded and decoded repeatedly for a fixed time; the figure is
 * the time of one encode plus one decode, and the encoded size.
 */
import { RpcKind, type RpcMessage } from '../../../src/rpc/messages.ts';
import type { RecordedEvent } from '../../../src/store/types.ts';
import { uuidv7 } from '../../../src/util/uuid.ts';
import { readingEvent } from './bench-events.ts';
import { benchCall } from './relay-calls.ts';

export interface Codec {
  name: string;
  encode(message: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

export interface CodecFigure {
  message: string;
  bytes: Record<string, number>;
  /** Microseconds for one encode and one decode. */
  roundTripUs: Record<string, number>;
}

export function jsonCodec(): Codec {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return {
    name: 'json',
    encode: (m) => encoder.encode(JSON.stringify(m)),
    decode: (b) => JSON.parse(decoder.decode(b)),
  };
}

/** msgpackr's Packr class, from wherever the benchmark installed it. */
export function msgpackCodec(Packr: new (options: Record<string, unknown>) => { pack(v: unknown): Uint8Array; unpack(b: Uint8Array): unknown }): Codec {
  const packr = new Packr({ useRecords: false });
  return { name: 'msgpack', encode: (m) => packr.pack(m), decode: (b) => packr.unpack(b) };
}

function recorded(i: number): RecordedEvent {
  const e = readingEvent(i, true);
  return {
    eventId: e.eventId ?? uuidv7(),
    eventType: e.eventType,
    streamId: 'greenhouse-7',
    version: i,
    position: 100_000 + i,
    data: e.data,
    metadata: e.metadata ?? {},
    tags: e.tags ?? [],
    timestamp: new Date().toISOString(),
    epochUs: Date.now() * 1000,
    dataContentType: 'application/json',
    metadataContentType: 'application/json',
  } as RecordedEvent;
}

export function realisticMessages(): Array<{ name: string; message: RpcMessage }> {
  const id = 1_234_567;
  return [
    { name: 'call streamVersion', message: { k: RpcKind.Call, id, call: benchCall('remote', 'streamVersion', 42), timeoutMs: 4_987 } },
    { name: 'result streamVersion', message: { k: RpcKind.Result, id, result: 41 } },
    { name: 'call append 1 event', message: { k: RpcKind.Call, id, call: benchCall('remote', 'append', 42), timeoutMs: 4_987 } },
    { name: 'result append', message: { k: RpcKind.Result, id, result: { version: 12, position: 123_456 } } },
    {
      name: 'result readStream 100',
      message: { k: RpcKind.Result, id, result: Array.from({ length: 100 }, (_, i) => recorded(i)) },
    },
    { name: 'deliver 1 event', message: { k: RpcKind.Deliver, id, delivery: { event: recorded(7), attempt: 1 } } },
  ];
}

export function compareCodecs(codecs: readonly Codec[], msPerCase = 250): CodecFigure[] {
  return realisticMessages().map(({ name, message }) => {
    const figure: CodecFigure = { message: name, bytes: {}, roundTripUs: {} };
    for (const codec of codecs) {
      figure.bytes[codec.name] = codec.encode(message).byteLength;
      // Warm up, then count round trips in the window.
      for (let i = 0; i < 2_000; i++) codec.decode(codec.encode(message));
      let n = 0;
      const started = performance.now();
      const until = started + msPerCase;
      while (performance.now() < until) {
        for (let i = 0; i < 100; i++) codec.decode(codec.encode(message));
        n += 100;
      }
      figure.roundTripUs[codec.name] = Math.round(((performance.now() - started) * 1000 * 100) / n) / 100;
    }
    return figure;
  });
}
