/**
 * The data discovery exposes: peers, statistics and events. Plain values only, so that the composition root can
 * show them in `/v1/cluster`, `/metrics` and `gater status` without knowing how they are made.
 */

/** `alive`: heard within `suspectAfterMs`; `suspect`: silent longer; `dead`: silent beyond `deadAfterMs`, or left. */
export type PeerState = 'alive' | 'suspect' | 'dead';

export interface PeerInfo {
  /** The node's id (its libp2p peer id in a full node); stable across restarts. */
  readonly nodeId: string;
  /** The node's configured name. */
  readonly name: string;
  /** Mesh multiaddrs as the node announced them. */
  readonly addrs: readonly string[];
  readonly state: PeerState;
  /** When a valid packet of the node was last accepted, ISO 8601. */
  readonly lastSeen: string;
  /** Grows on every start of the node: a higher incarnation is a restarted node that replaces its old self. */
  readonly incarnation: number;
  readonly roles: readonly string[];
  /** Ids of the stores the node hosts. */
  readonly stores: readonly string[];
  /** Whether the node had to leave out some addrs, roles or stores to fit its announcement in one datagram. */
  readonly truncated: boolean;
  /** `ip:port` the node's packets come from (where replies go). */
  readonly endpoint: string;
}

/**
 * Why a datagram was dropped. The values are stable (they label metrics):
 * - `oversized`: larger than one datagram may be;
 * - `malformed`: not our header, an unknown version or kind, or a payload that fails validation;
 * - `bad_auth`: no accepted key has its key id, or authentication failed (another secret, or tampering);
 * - `other_cluster`: sent for another cluster name;
 * - `stale`: its timestamp is further from our clock than `maxClockSkewMs`;
 * - `replay`: its sequence is not newer than the last accepted for that node and incarnation, or its incarnation is
 *   older than the node's current one;
 * - `self`: our own packet, looped back by multicast or sent to us by a peer's hint.
 */
export type DropReason = 'oversized' | 'malformed' | 'bad_auth' | 'other_cluster' | 'stale' | 'replay' | 'self';

export const DROP_REASONS: readonly DropReason[] = Object.freeze([
  'oversized',
  'malformed',
  'bad_auth',
  'other_cluster',
  'stale',
  'replay',
  'self',
]);

export interface DiscoveryStats {
  /** Datagrams handed to the kernel: periodic beacons, prompt replies, leave notices, probes and acks, to every
   * destination. */
  readonly beaconsSent: number;
  /** Datagrams accepted: authenticated, valid, fresh and new. */
  readonly beaconsReceived: number;
  /** Probes handed to the kernel, to peers silent for `probeAfterMs` (also counted in `beaconsSent`). */
  readonly probesSent: number;
  /** Acks accepted, answers to our probes (also counted in `beaconsReceived`). */
  readonly acksReceived: number;
  /** Sends that failed (no route, unresolvable seed, ...). */
  readonly sendErrors: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
}

/** What a node announces about itself; read again for every beacon. */
export interface Advertisement {
  /** Mesh multiaddrs peers dial, e.g. `/ip4/127.0.0.1/tcp/45893/p2p/12D3Koo...`. */
  readonly addrs: readonly string[];
  readonly roles: readonly string[];
  /** Ids of the stores this node hosts. */
  readonly stores: readonly string[];
}

/**
 * Events of `GossipDiscovery`, each with the peer as it is after the change:
 * - `peer:up`: a peer is heard for the first time, comes back from the dead, or restarted (after `peer:down` of its
 *   previous incarnation);
 * - `peer:down`: a peer is declared dead (silent beyond `deadAfterMs`, or it announced that it leaves), or a restart
 *   replaced it (the payload is then its previous incarnation, marked dead);
 * - `peer:updated`: a live peer changed its name, addrs, roles or stores, became suspect, or is heard again after
 *   being suspect.
 */
export type DiscoveryEvents = {
  'peer:up': [peer: PeerInfo];
  'peer:down': [peer: PeerInfo];
  'peer:updated': [peer: PeerInfo];
};

export type DiscoveryEventName = keyof DiscoveryEvents;

/** Time as discovery sees it; injected so that tests can control it. */
export interface DiscoveryClock {
  /** Milliseconds since the Unix epoch: packet timestamps, the skew check and `lastSeen`. */
  wallNow(): number;
  /** Milliseconds from an arbitrary origin that never goes back: membership windows, immune to clock steps. */
  monotonicNow(): number;
}

export const systemDiscoveryClock: DiscoveryClock = Object.freeze({
  wallNow: () => Date.now(),
  monotonicNow: () => performance.now(),
});
