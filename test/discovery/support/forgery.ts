/**
 * What a damaged datagram must be dropped as, by where the damage is: the model the codec and fuzz tests check the
 * node against.
 */
import type { DropReason } from '../../../src/discovery/types.ts';
import {
  MESSAGE_KIND,
  OFFSET_KEY_ID,
  OFFSET_KIND,
  OFFSET_VERSION,
  OVERHEAD_BYTES,
} from '../../../src/discovery/wire-format.ts';

const KINDS: ReadonlySet<number> = new Set(Object.values(MESSAGE_KIND));

/** The reason a valid datagram with bit `bit` of byte `offset` flipped is dropped for. */
export function expectedForFlip(datagram: Buffer, offset: number, bit: number): DropReason {
  if (offset <= OFFSET_VERSION) return 'malformed';
  if (offset === OFFSET_KIND) return KINDS.has((datagram[OFFSET_KIND] ?? 0) ^ (1 << bit)) ? 'bad_auth' : 'malformed';
  if (offset < OFFSET_KEY_ID) return 'other_cluster';
  return 'bad_auth';
}

export function flipBit(datagram: Buffer, offset: number, bit: number): Buffer {
  const flipped = Buffer.from(datagram);
  flipped[offset] = (flipped[offset] ?? 0) ^ (1 << bit);
  return flipped;
}

/** The reason a valid datagram cut to `length` bytes is dropped for. */
export function expectedForTruncation(length: number): DropReason {
  return length <= OVERHEAD_BYTES ? 'malformed' : 'bad_auth';
}
