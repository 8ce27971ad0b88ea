/**
 * The shape of a rig, as pure data: which host is a store node and which a gateway, its address, and the environment
 * its gater node starts with. `docker-compose.yaml` describes the same topology (a test compares the two), so the rig
 * is a faithful small copy of the Docker deployment: store nodes first, each hosting one embedded store named after
 * its node number, then pure gateway nodes; broadcast gossip by default, as in the seed.
 */

/**
 * The rig's subnet: 198.18.0.0/15 is set aside for network benchmarks (RFC 2544), so it never clashes with a real
 * network; and it exists only on the rig's own bridge, inside namespaces.
 */
export const RIG_SUBNET_PREFIX = '198.18.0.';
export const RIG_SUBNET = `${RIG_SUBNET_PREFIX}0/24`;
export const RIG_PREFIX_LENGTH = 24;
export const RIG_SUBNET_BROADCAST = `${RIG_SUBNET_PREFIX}255`;
/** Host I has the address `198.18.0.(10 + I)`. */
export const RIG_HOST_OCTET_BASE = 10;
/** The most hosts one rig holds (intruders included); the addresses stay under the broadcast address. */
export const MAX_RIG_HOSTS = 200;

export const RIG_HTTP_PORT = 4_001;
export const RIG_GOSSIP_PORT = 45_892;
/** The conventional fixed mesh port, as in docker-compose.yaml. */
export const RIG_MESH_PORT = 45_893;
/** The seed's broadcast address (libcluster's `multicast_addr: "255.255.255.255"` with `broadcast_only: true`). */
export const RIG_BROADCAST_ADDRESS = '255.255.255.255';
/** The project's default multicast group (RFC 2365 local scope). */
export const RIG_MULTICAST_GROUP = '239.255.43.21';
export const RIG_CLUSTER_NAME = 'gater';

export type GossipMode = 'broadcast' | 'multicast';
export type HostRole = 'store' | 'gateway';

export interface HostPlan {
  /** 1-based: the I of `rig kill I`. */
  readonly index: number;
  /** The node's name, `gater-I`, as the compose service of the same node. */
  readonly name: string;
  readonly role: HostRole;
  /** Stores the node hosts: `store-I` on a store node, none on a gateway node. */
  readonly stores: readonly string[];
  readonly address: string;
}

/** Host I of the rig, with the role given. */
export function planHost(index: number, role: HostRole): HostPlan {
  if (!Number.isInteger(index) || index < 1 || index > MAX_RIG_HOSTS) {
    throw new RangeError(`a host index is an integer from 1 to ${MAX_RIG_HOSTS} (got ${index})`);
  }
  return {
    index,
    name: `gater-${index}`,
    role,
    stores: role === 'store' ? [`store-${index}`] : [],
    address: `${RIG_SUBNET_PREFIX}${RIG_HOST_OCTET_BASE + index}`,
  };
}

/** `hosts` hosts, the last `gateways` of them pure gateway nodes, the others store nodes. */
export function planHosts(hosts: number, gateways = 0): HostPlan[] {
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_RIG_HOSTS) {
    throw new RangeError(`a rig has from 1 to ${MAX_RIG_HOSTS} hosts (got ${hosts})`);
  }
  if (!Number.isInteger(gateways) || gateways < 0 || gateways > hosts) {
    throw new RangeError(`--gateways takes an integer from 0 to the number of hosts (got ${gateways})`);
  }
  const stores = hosts - gateways;
  return Array.from({ length: hosts }, (_, i) => planHost(i + 1, i < stores ? 'store' : 'gateway'));
}

export interface NodeEnvironmentInit {
  readonly clusterName: string;
  readonly secret: string;
  readonly mode: GossipMode;
  readonly dataDir: string;
  /** Anything else, e.g. a short `GATER_GOSSIP_INTERVAL_MS` for tests; wins over the rig's own values. */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * The gater environment of a host's node. Gossip and the mesh bind the host's bridge address, HTTP every address of
 * the namespace (so the proxy reaches it on the namespace's loopback).
 */
export function nodeEnvironment(host: HostPlan, init: NodeEnvironmentInit): Record<string, string> {
  const gossip: Record<string, string> = init.mode === 'broadcast'
    ? { GATER_BROADCAST_ONLY: 'true', GATER_GOSSIP_ADDR: RIG_BROADCAST_ADDRESS }
    : { GATER_BROADCAST_ONLY: 'false', GATER_GOSSIP_ADDR: RIG_MULTICAST_GROUP };
  return {
    GATER_NODE_NAME: host.name,
    GATER_STORES: host.stores.join(','),
    GATER_DATA_DIR: init.dataDir,
    GATER_HTTP_HOST: '0.0.0.0',
    GATER_HTTP_PORT: String(RIG_HTTP_PORT),
    GATER_CLUSTER_NAME: init.clusterName,
    GATER_CLUSTER_SECRET: init.secret,
    GATER_GOSSIP_IF: host.address,
    GATER_GOSSIP_PORT: String(RIG_GOSSIP_PORT),
    GATER_MESH_PORT: String(RIG_MESH_PORT),
    GATER_LOG_FORMAT: 'json',
    ...gossip,
    ...init.extra,
  };
}
