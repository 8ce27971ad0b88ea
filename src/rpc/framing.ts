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

const EMPTY = Buffer.alloc(0);

/**
 * Frames out of a byte stream. A frame that arrives whole within a chunk is returned as a view of it (no copy); one
 * split over chunks is copied once into a buffer of its announced size, so a large frame costs linear time however
 * finely the transport cuts it.
 */
export class FrameDecoder {
  private readonly limit: number;
  /** The start of a header split over chunks (fewer than HEADER_BYTES bytes). */
  private head: Buffer = EMPTY;
  /** The frame being filled, and how many of its bytes have arrived. */
  private body: Buffer | undefined = undefined;
  private filled = 0;

  constructor(limit = MAX_FRAME_BYTES) {
    this.limit = limit;
  }

  /** Adds a chunk; returns the frames it completed. Throws FrameTooLargeError on an oversized frame header. */
  push(chunk: Uint8Array): Buffer[] {
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const frames: Buffer[] = [];
    while (data.length > 0) {
      if (this.body !== undefined) {
        const take = Math.min(this.body.length - this.filled, data.length);
        data.copy(this.body, this.filled, 0, take);
        this.filled += take;
        data = data.subarray(take);
        if (this.filled === this.body.length) {
          frames.push(this.body);
          this.body = undefined;
        }
        continue;
      }
      if (this.head.length > 0 || data.length < HEADER_BYTES) {
        const take = Math.min(HEADER_BYTES - this.head.length, data.length);
        this.head = Buffer.concat([this.head, data.subarray(0, take)]);
        data = data.subarray(take);
        if (this.head.length < HEADER_BYTES) break;
        const size = this.sizeIn(this.head);
        this.head = EMPTY;
        if (size === 0) frames.push(EMPTY);
        else {
          this.body = Buffer.allocUnsafe(size);
          this.filled = 0;
        }
        continue;
      }
      const size = this.sizeIn(data);
      const end = HEADER_BYTES + size;
      if (data.length >= end) {
        frames.push(data.subarray(HEADER_BYTES, end));
        data = data.subarray(end);
        continue;
      }
      // The rest of this frame comes in later chunks: copy what is here into a buffer of the frame's size.
      this.body = Buffer.allocUnsafe(size);
      this.filled = data.copy(this.body, 0, HEADER_BYTES);
      data = EMPTY;
    }
    return frames;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.head.length + (this.body === undefined ? 0 : this.filled);
  }

  /** The size in the header at the start of `bytes`, refused over the limit before anything is buffered. */
  private sizeIn(bytes: Buffer): number {
    const size = bytes.readUInt32BE(0);
    if (size > this.limit) throw new FrameTooLargeError(size, this.limit);
    return size;
  }
}
