/** Length-prefixed framing: frames survive any cut of the byte stream; oversized headers are refused at once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameDecoder, FrameTooLargeError, encodeFrames } from '../../src/rpc/framing.ts';

/** A deterministic pseudo-random generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('FrameDecoder', () => {
  it('rebuilds every frame, empty ones included, however the stream is cut (200 random cuts)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = random(seed);
      const payloads = Array.from({ length: 1 + Math.floor(rnd() * 20) }, (_, i) =>
        Buffer.alloc(rnd() < 0.2 ? 0 : Math.floor(rnd() * 3000), (seed + i) % 251),
      );
      const bytes = encodeFrames(payloads);
      const decoder = new FrameDecoder();
      const frames: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        // Cuts of 1 to 8 bytes split headers; longer ones split and join bodies.
        const size = rnd() < 0.3 ? 1 + Math.floor(rnd() * 8) : 1 + Math.floor(rnd() * 5000);
        frames.push(...decoder.push(bytes.subarray(at, at + size)));
        at += size;
      }
      assert.deepEqual(frames, payloads, `seed ${seed}`);
      assert.equal(decoder.buffered, 0);
    }
  });

  it('copies a frame split over chunks into one buffer of its size (a 4 MiB frame in 1 KiB chunks)', () => {
    const payload = Buffer.alloc(4 * 1024 * 1024, 7);
    const bytes = encodeFrames([payload]);
    const decoder = new FrameDecoder();
    const frames: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 1024) {
      frames.push(...decoder.push(bytes.subarray(at, at + 1024)));
      if (frames.length === 0) assert.equal(decoder.buffered, Math.min(at + 1024, bytes.length) - 4);
    }
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.length, payload.length);
    assert.ok(frames[0]!.equals(payload));
  });

  it('refuses a header over the limit before buffering anything, even when the header is split', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    assert.throws(() => new FrameDecoder(1024).push(header), FrameTooLargeError);
    const split = new FrameDecoder(1024);
    assert.deepEqual(split.push(header.subarray(0, 3)), []);
    assert.throws(() => split.push(header.subarray(3)), FrameTooLargeError);
    assert.throws(() => encodeFrames([Buffer.alloc(1025)], 1024), FrameTooLargeError);
  });
});
