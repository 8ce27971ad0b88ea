/**
 * Length-prefixed framing: each frame is a 4-byte big-endian length followed by that many bytes. The decoder is
 * incremental (chunks may split or join frames anywhere) and refuses frames over the limit before buffering them.
 */

/** Largest frame accepted or sent. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const HEADER_BYTES = 4;

export class FrameTooLargeError extends Error {
  constructor(size: number, limit: number) {
    super(`frame of ${size} bytes exceeds the limit of ${limit}`);
    this.name = 'FrameTooLargeError';
  }
}

/** Frames several payloads into one buffer (one socket write for a whole tick's worth of messages). */
export function encodeFrames(payloads: readonly Uint8Array[], limit = MAX_FRAME_BYTES): Buffer {
  let total = 0;
  for (const p of payloads) {
    if (p.byteLength > limit) throw new FrameTooLargeError(p.byteLength, limit);
    total += HEADER_BYTES + p.byteLength;
  }
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const p of payloads) {
    out.writeUInt32BE(p.byteLength, offset);
    out.set(p, offset + HEADER_BYTES);
    offset += HEADER_BYTES + p.byteLength;
  }
  return out;
}

export class FrameDecoder {
  private readonly limit: number;
  private pending: Buffer = Buffer.alloc(0);

  constructor(limit = MAX_FRAME_BYTES) {
    this.limit = limit;
  }

  /** Adds a chunk; returns the frames it completed. Throws FrameTooLargeError on an oversized frame header. */
  push(chunk: Uint8Array): Buffer[] {
    const buf = this.pending.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    let offset = 0;
    while (buf.length - offset >= HEADER_BYTES) {
      const size = buf.readUInt32BE(offset);
      if (size > this.limit) throw new FrameTooLargeError(size, this.limit);
      if (buf.length - offset - HEADER_BYTES < size) break;
      frames.push(buf.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + size));
      offset += HEADER_BYTES + size;
    }
    // Copy the remainder so the (possibly large) chunk it came from can be freed.
    this.pending = offset === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
    return frames;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.pending.length;
  }
}
