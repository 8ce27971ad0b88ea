/**
 * Gossip discovery: every node finds its peers by itself over UDP, and nothing without the cluster secret gets in.
 *
 * `new GossipDiscovery({ logger, clock }, init)` beacons this node (id, name, incarnation, mesh addrs, roles, stores)
 * to a multicast group or broadcast address and to unicast seeds, listens for its peers' beacons, and keeps a peer
 * table with alive, suspect and dead states; `peer:up`, `peer:down` and `peer:updated` tell the mesh. Packets are
 * AES-256-GCM sealed with keys derived by HKDF from a rotatable keyring of secrets; whatever fails is dropped and
 * counted by reason in `stats()`. This module knows nothing of libp2p, stores or HTTP; README.md here describes the
 * protocol, the defaults and secret rotation.
 */
export { GossipDiscovery, type DiscoveryComponents } from './gossip-discovery.ts';
export {
  resolveDiscoveryConfig,
  type DiscoveryConfig,
  type DiscoveryInit,
  type GroupMode,
} from './discovery-config.ts';
export { ClusterMonitor, type ClusterMonitorInit, type PeerEvents } from './cluster-monitor.ts';
export type { Endpoint } from './endpoint.ts';
export { SeedResolver, systemResolveHost, type ResolveHost, type SeedResolverComponents, type SeedResolverInit } from './seed-resolver.ts';
export { Keyring, deriveGossipKey, type GossipKey, type GossipSecrets } from './keyring.ts';
export {
  DROP_REASONS,
  systemDiscoveryClock,
  type Advertisement,
  type DiscoveryClock,
  type DiscoveryEventName,
  type DiscoveryEvents,
  type DiscoveryStats,
  type DropReason,
  type PeerInfo,
  type PeerState,
} from './types.ts';
export * from './constants.ts';
