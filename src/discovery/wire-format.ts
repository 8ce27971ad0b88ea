/**
 * The clear header of a gossip datagram. Everything after it is AES-256-GCM ciphertext of the payload
 * (`payload-codec.ts`) followed by the 16-byte authentication tag, with the whole header as associated data, so no
 * header byte can be changed without the packet failing authentication.
 *
 * ```
 * offset size field
 *      0    2 magic 0x47 0x54 ("GT")
 *      2    1 protocol version (1)
 *      3    1 message kind (MESSAGE_KIND)
 *      4    4 cluster tag: first bytes of SHA-256 of the cluster name, to tell another cluster from a wrong secret
 *      8    4 key id: which key of the sender's keyring sealed the packet (derived from the key, reveals nothing)
 *     12   12 nonce, random per packet
 *     24    n ciphertext of the payload
 *   24+n   16 GCM tag
 * ```
 */
import { createHash } from 'node:crypto';

export const MAGIC_0 = 0x47;
export const MAGIC_1 = 0x54;
export const PROTOCOL_VERSION = 1;

/**
 * Message kinds. The numeric values are part of the protocol: append new kinds at the end, never renumber or reuse
 * one. Every kind carries the same payload.
 */
export const MESSAGE_KIND = Object.freeze({
  /** Periodic announcement, to the group, the seeds and peers heard only by unicast. */
  beacon: 1,
  /** Prompt answer, by unicast, to a peer heard for the first time (or restarted, or back); never answered itself. */
  reply: 2,
  /** Sent by a stopping node: peers mark it dead at once instead of waiting for the dead window. */
  leave: 3,
  /**
   * Sent by unicast, several times per interval, to a peer not heard for `probeAfterMs`: it answers each with an
   * ack at once, so that a live peer whose beacons happen to be lost is still heard before its dead window ends.
   */
  probe: 4,
  /** The answer to a probe, by unicast to the endpoint it came from; never answered itself. */
  ack: 5,
} as const);

export type MessageKindName = keyof typeof MESSAGE_KIND;
export type MessageKind = (typeof MESSAGE_KIND)[MessageKindName];

const KINDS: ReadonlySet<number> = new Set(Object.values(MESSAGE_KIND));

export function isMessageKind(value: number): value is MessageKind {
  return KINDS.has(value);
}

export const CLUSTER_TAG_BYTES = 4;
export const KEY_ID_BYTES = 4;
export const NONCE_BYTES = 12;
export const AUTH_TAG_BYTES = 16;

export const OFFSET_VERSION = 2;
export const OFFSET_KIND = 3;
export const OFFSET_CLUSTER_TAG = 4;
export const OFFSET_KEY_ID = OFFSET_CLUSTER_TAG + CLUSTER_TAG_BYTES;
export const OFFSET_NONCE = OFFSET_KEY_ID + KEY_ID_BYTES;
export const HEADER_BYTES = OFFSET_NONCE + NONCE_BYTES;

/** Header and tag: what a datagram carries besides the ciphertext. */
export const OVERHEAD_BYTES = HEADER_BYTES + AUTH_TAG_BYTES;

const CLUSTER_TAG_LABEL = 'gater/gossip/cluster-tag/v1\0';

/**
 * The cluster tag of a cluster name. Not a secret (the name is not one either): it only lets a receiver count a
 * packet of another cluster as such rather than as a failed authentication.
 */
export function clusterTag(clusterName: string): Buffer {
  const digest = createHash('sha256').update(CLUSTER_TAG_LABEL).update(clusterName, 'utf8').digest();
  return digest.subarray(0, CLUSTER_TAG_BYTES);
}
