/**
 * Seals payloads into datagrams and opens datagrams back into payloads: the header of `wire-format.ts` in clear, the
 * payload under AES-256-GCM with the header as associated data. Opening checks, in order, size, header, cluster tag,
 * key id, authentication, then the payload's fields; nothing is decoded before it is authenticated.
 */
import { createCipheriv, createDecipheriv, randomFillSync, type KeyObject } from 'node:crypto';
import { MAX_DATAGRAM_BYTES } from './constants.ts';
import type { Keyring } from './keyring.ts';
import { decodePayload, encodePayload, fitPayload, type GossipPayload } from './payload-codec.ts';
import type { DropReason } from './types.ts';
import {
  AUTH_TAG_BYTES,
  CLUSTER_TAG_BYTES,
  HEADER_BYTES,
  KEY_ID_BYTES,
  MAGIC_0,
  MAGIC_1,
  NONCE_BYTES,
  OFFSET_CLUSTER_TAG,
  OFFSET_KEY_ID,
  OFFSET_KIND,
  OFFSET_NONCE,
  OFFSET_VERSION,
  OVERHEAD_BYTES,
  PROTOCOL_VERSION,
  clusterTag,
  isMessageKind,
  type MessageKind,
} from './wire-format.ts';

/** The most payload bytes one datagram carries. */
export const MAX_PAYLOAD_BYTES = MAX_DATAGRAM_BYTES - OVERHEAD_BYTES;

export type OpenResult =
  | { readonly ok: true; readonly kind: MessageKind; readonly payload: GossipPayload; readonly keyId: string }
  | { readonly ok: false; readonly reason: DropReason; readonly detail: string };

export interface SealedPacket {
  readonly datagram: Buffer;
  /** The payload as sent: trimmed and flagged if it did not fit. */
  readonly payload: GossipPayload;
}

const CIPHER = 'aes-256-gcm';

function drop(reason: DropReason, detail: string): OpenResult {
  return { ok: false, reason, detail };
}

export class PacketCodec {
  private readonly clusterName: string;
  private readonly keyring: Keyring;
  private readonly tag: Buffer;

  constructor(clusterName: string, keyring: Keyring) {
    this.clusterName = clusterName;
    this.keyring = keyring;
    this.tag = clusterTag(clusterName);
  }

  /** Seals `payload` with the keyring's primary key; trims it first if it would not fit one datagram. */
  seal(kind: MessageKind, payload: GossipPayload): SealedPacket {
    const fitted = fitPayload(payload, MAX_PAYLOAD_BYTES);
    const plain = encodePayload(fitted);
    const key = this.keyring.primary;
    const header = Buffer.alloc(HEADER_BYTES);
    header[0] = MAGIC_0;
    header[1] = MAGIC_1;
    header[OFFSET_VERSION] = PROTOCOL_VERSION;
    header[OFFSET_KIND] = kind;
    this.tag.copy(header, OFFSET_CLUSTER_TAG);
    key.id.copy(header, OFFSET_KEY_ID);
    // Random 96-bit nonces: safe for far more packets per key (2³² by NIST's bound) than a cluster ever sends.
    randomFillSync(header, OFFSET_NONCE, NONCE_BYTES);
    const cipher = createCipheriv(CIPHER, key.secretKey, header.subarray(OFFSET_NONCE, HEADER_BYTES));
    cipher.setAAD(header);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { datagram: Buffer.concat([header, body, cipher.getAuthTag()]), payload: fitted };
  }

  /** Opens a datagram; never throws. */
  open(datagram: Buffer): OpenResult {
    if (datagram.length > MAX_DATAGRAM_BYTES) return drop('oversized', `${datagram.length} bytes`);
    if (datagram.length < OVERHEAD_BYTES + 1) return drop('malformed', `${datagram.length} bytes is too short`);
    if (datagram[0] !== MAGIC_0 || datagram[1] !== MAGIC_1) return drop('malformed', 'bad magic');
    const version = datagram[OFFSET_VERSION] ?? 0;
    if (version !== PROTOCOL_VERSION) return drop('malformed', `unsupported protocol version ${version}`);
    const kind = datagram[OFFSET_KIND] ?? 0;
    if (!isMessageKind(kind)) return drop('malformed', `unknown message kind ${kind}`);
    if (!datagram.subarray(OFFSET_CLUSTER_TAG, OFFSET_CLUSTER_TAG + CLUSTER_TAG_BYTES).equals(this.tag)) {
      return drop('other_cluster', 'cluster tag of another cluster name');
    }
    const keyId = datagram.subarray(OFFSET_KEY_ID, OFFSET_KEY_ID + KEY_ID_BYTES);
    const keys = this.keyring.keysWithId(keyId);
    if (keys.length === 0) return drop('bad_auth', `no accepted key has id ${keyId.toString('hex')}`);
    const header = datagram.subarray(0, HEADER_BYTES);
    const nonce = datagram.subarray(OFFSET_NONCE, HEADER_BYTES);
    const body = datagram.subarray(HEADER_BYTES, datagram.length - AUTH_TAG_BYTES);
    const authTag = datagram.subarray(datagram.length - AUTH_TAG_BYTES);
    let plain: Buffer | undefined;
    for (const key of keys) {
      plain = decrypt(key.secretKey, nonce, header, body, authTag);
      if (plain !== undefined) break;
    }
    if (plain === undefined) return drop('bad_auth', 'authentication failed');
    let payload: GossipPayload;
    try {
      payload = decodePayload(plain);
    } catch (err) {
      return drop('malformed', `authenticated payload rejected: ${(err as Error).message}`);
    }
    if (payload.clusterName !== this.clusterName) {
      return drop('other_cluster', `cluster '${payload.clusterName}'`);
    }
    return { ok: true, kind, payload, keyId: keyId.toString('hex') };
  }
}

function decrypt(key: KeyObject, nonce: Buffer, header: Buffer, body: Buffer, authTag: Buffer): Buffer | undefined {
  try {
    const decipher = createDecipheriv(CIPHER, key, nonce, { authTagLength: AUTH_TAG_BYTES });
    decipher.setAAD(header);
    decipher.setAuthTag(authTag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return undefined;
  }
}
