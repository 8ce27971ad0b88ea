/**
 * The keys gossip is sealed with. A keyring holds one primary key, used to send, and any number of older keys that are
 * still accepted, so that a running cluster can move to a new secret with no downtime.
 *
 * Keys are derived with HKDF-SHA256 from a secret, a fixed label and the cluster name: the secret never crosses the
 * wire, and the same secret gives unrelated keys in two clusters. Each key has a 4-byte id (a second HKDF output) in
 * the packet header, so a receiver picks the key at once instead of trying all of them; the id reveals nothing of the
 * key or the secret.
 *
 * Rotating the cluster secret from A to B, with every step a rolling restart and the cluster whole throughout:
 * 1. every node runs with primary A and previous [B]: all still send with A, and all now accept B;
 * 2. every node runs with primary B and previous [A]: updated nodes send with B, which every node accepts since
 *    step 1, while the nodes not yet updated still send with A, which every node still accepts;
 * 3. every node runs with primary B and no previous secret: everyone sends with B since step 2, so A can go.
 * Skipping step 1 splits the cluster while step 2 rolls: a node on [A] alone cannot read a node on [B, A].
 */
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { KEY_ID_BYTES } from './wire-format.ts';

export interface GossipSecrets {
  /** The secret new packets are sealed with. Absent: keys are derived from the cluster name alone (loopback only). */
  readonly primary?: string | undefined;
  /** Older secrets whose packets are still accepted; never used to send. */
  readonly previous?: readonly string[] | undefined;
}

export interface GossipKey {
  /** The 4-byte key id carried in the header. */
  readonly id: Buffer;
  /** The id in hex, for logs and lookups. */
  readonly idHex: string;
  /** The 32-byte AES-256-GCM key. */
  readonly key: Buffer;
  /**
   * The same key, imported once: passing raw bytes to every cipher imports them again each time, which was most of
   * the cost of opening a packet (a flood of forged packets under a valid key id is paid for per packet).
   */
  readonly secretKey: KeyObject;
}

const SALT_LABEL = 'gater/gossip/salt/v1\0';
const KEY_INFO_LABEL = 'gater/gossip/aes-256-gcm/v1\0';
const KEY_ID_INFO_LABEL = 'gater/gossip/key-id/v1\0';
const KEY_BYTES = 32;

/** Derives the key of `secret` for `clusterName`; without a secret, from the cluster name alone. */
export function deriveGossipKey(clusterName: string, secret: string | undefined): GossipKey {
  const ikm = Buffer.from(secret ?? '', 'utf8');
  const salt = Buffer.from(SALT_LABEL + clusterName, 'utf8');
  const key = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(KEY_INFO_LABEL + clusterName, 'utf8'), KEY_BYTES));
  const id = Buffer.from(
    hkdfSync('sha256', ikm, salt, Buffer.from(KEY_ID_INFO_LABEL + clusterName, 'utf8'), KEY_ID_BYTES),
  );
  return Object.freeze({ id, idHex: id.toString('hex'), key, secretKey: createSecretKey(key) });
}

export class Keyring {
  /** The key packets are sent with. */
  readonly primary: GossipKey;
  /** Whether the keys come from a secret (false: from the cluster name alone, which authenticates nothing). */
  readonly hasSecret: boolean;
  private readonly byId = new Map<string, GossipKey[]>();

  constructor(clusterName: string, secrets: GossipSecrets = {}) {
    this.hasSecret = secrets.primary !== undefined;
    this.primary = deriveGossipKey(clusterName, secrets.primary);
    this.add(this.primary);
    for (const secret of secrets.previous ?? []) this.add(deriveGossipKey(clusterName, secret));
  }

  /** The accepted keys with this id: normally one, more only if two secrets' ids collide (1 in 2³² per pair). */
  keysWithId(id: Buffer): readonly GossipKey[] {
    return this.byId.get(id.toString('hex')) ?? [];
  }

  /** Ids of every accepted key, primary first; for logs (they reveal nothing). */
  keyIds(): string[] {
    return [...this.byId.values()].flat().map((key) => key.idHex);
  }

  private add(key: GossipKey): void {
    const same = this.byId.get(key.idHex);
    if (same === undefined) this.byId.set(key.idHex, [key]);
    else if (!same.some((k) => k.key.equals(key.key))) same.push(key);
  }
}
