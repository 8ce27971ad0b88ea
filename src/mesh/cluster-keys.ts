/**
 * The private network's keys, derived from the cluster secrets.
 *
 * Each secret yields two independent values by HKDF-SHA256 (RFC 5869), both bound to the cluster name:
 * - a 256-bit pre-shared key for `@libp2p/pnet`, written in the swarm.key format it parses;
 * - an 8-byte key id, sent in clear by the key-selection preamble so two nodes can agree on a secret they share
 *   without revealing it (HKDF outputs under different labels are independent: the id says nothing of the key).
 *
 * Labels are versioned so the derivation can change without ever colliding with an old one; the discovery key uses
 * labels of its own, so no two components share key material.
 */
import { hkdfSync } from 'node:crypto';
import { InvalidArgumentError } from '../errors/index.ts';
import { MAX_CLUSTER_SECRETS } from './constants.ts';

const PSK_LABEL = 'gater/mesh/pnet-psk/v1';
const KEY_ID_LABEL = 'gater/mesh/pnet-key-id/v1';
/** HKDF salt: a fixed, public domain separator (the secrets carry the entropy). */
const HKDF_SALT = 'gater/mesh';
/** The length @libp2p/pnet requires of a key. */
export const PSK_BYTES = 32;
export const KEY_ID_BYTES = 8;
const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n';

/** The secrets a node holds: the primary one and older ones still accepted during a rotation. */
export interface ClusterSecrets {
  /** The current secret (`GATER_CLUSTER_SECRET`); preferred whenever a peer holds it too. */
  primary?: string | undefined;
  /** Older (or, during the first step of a rotation, newer) secrets still accepted (`GATER_CLUSTER_SECRET_PREVIOUS`). */
  previous: readonly string[];
}

/** One secret's derived material. */
export interface ClusterKey {
  /** Public identifier of the key, hex; what the preamble sends. */
  readonly id: string;
  readonly idBytes: Uint8Array;
  /** The key in swarm.key format, as `preSharedKey({ psk })` expects. */
  readonly swarmKey: Uint8Array;
}

/** The swarm.key (`/key/swarm/psk/1.0.0/`, base16) that @libp2p/pnet uses for `secret` in cluster `clusterName`. */
export function deriveSwarmKey(secret: string, clusterName: string): Uint8Array {
  const psk = derive(secret, clusterName, PSK_LABEL, PSK_BYTES);
  return new TextEncoder().encode(SWARM_KEY_HEADER + Buffer.from(psk).toString('hex'));
}

/** The public identifier of `secret`'s key in cluster `clusterName`. */
export function deriveKeyId(secret: string, clusterName: string): Uint8Array {
  return derive(secret, clusterName, KEY_ID_LABEL, KEY_ID_BYTES);
}

/**
 * The keyring, in order of preference: the primary secret first, then the previous ones, duplicates removed. Empty
 * when the node has no secret at all (a loopback-only node; the mesh then runs without a private network).
 */
export function deriveClusterKeys(secrets: ClusterSecrets, clusterName: string): ClusterKey[] {
  if (secrets.primary === '') throw new InvalidArgumentError('clusterSecrets.primary', 'must not be empty');
  secrets.previous.forEach((secret, i) => {
    if (secret === '') throw new InvalidArgumentError(`clusterSecrets.previous[${i}]`, 'must not be empty');
  });
  const unique = [...new Set([...(secrets.primary === undefined ? [] : [secrets.primary]), ...secrets.previous])];
  if (unique.length > MAX_CLUSTER_SECRETS) {
    throw new InvalidArgumentError('clusterSecrets.previous', `at most ${MAX_CLUSTER_SECRETS} secrets in all`);
  }
  return unique.map((secret) => {
    const idBytes = deriveKeyId(secret, clusterName);
    return { id: Buffer.from(idBytes).toString('hex'), idBytes, swarmKey: deriveSwarmKey(secret, clusterName) };
  });
}

function derive(secret: string, clusterName: string, label: string, bytes: number): Uint8Array {
  // The NUL keeps `label` and `clusterName` from running into each other ("a/b" + "c" vs "a/" + "bc").
  return new Uint8Array(hkdfSync('sha256', secret, HKDF_SALT, `${label}\0${clusterName}`, bytes));
}
