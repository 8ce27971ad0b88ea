/**
 * The default of every option, named with its unit. `config/gater.example.json` and `config/README.md` list the same
 * values; a test keeps them in step.
 */
export const DEFAULT_DATA_DIR = './data';
/** The store a node hosts when `stores` is not set at all. */
export const DEFAULT_STORES: readonly string[] = ['default'];
export const DEFAULT_STORE_BACKEND = 'sqlite';
export const DEFAULT_GATEWAY_POOL_SIZE = 1;
export const MAX_GATEWAY_POOL_SIZE = 64;
export const DEFAULT_SQLITE_SYNCHRONOUS = 'FULL';
export const DEFAULT_HTTP_HOST = '0.0.0.0';
export const DEFAULT_HTTP_PORT = 4001;
export const DEFAULT_CALL_TIMEOUT_MS = 5_000;
/** Ten minutes: a longer single call is a mistake in the caller, not a slow store. */
export const MAX_CALL_TIMEOUT_MS = 600_000;
export const DEFAULT_CLUSTER_NAME = 'gater';
export const DEFAULT_GOSSIP_PORT = 45_892;
/**
 * 239.255.0.0/16 is the IPv4 Local Scope of administratively scoped multicast (RFC 2365): routers at the edge of a
 * site do not forward it, so gossip cannot leak beyond the site even on a misconfigured network, and it stays clear of
 * the 224.0.0.0/24 control block and of globally assigned groups. The seed's libcluster default, the limited broadcast
 * address 255.255.255.255, is still available with `broadcastOnly`.
 */
export const DEFAULT_GOSSIP_MULTICAST_ADDR = '239.255.43.21';
/** The gossip address when `broadcastOnly` is set and `gossipAddr` is not: the limited broadcast address. */
export const DEFAULT_GOSSIP_BROADCAST_ADDR = '255.255.255.255';
/** Loopback, so that a node started with no configuration never gossips beyond its own host. */
export const DEFAULT_GOSSIP_IF = '127.0.0.1';
export const DEFAULT_BROADCAST_ONLY = false;
/** Multicast on by default: nodes on one LAN (or one host) find each other with no list of addresses. */
export const DEFAULT_GOSSIP_MULTICAST = true;
export const DEFAULT_GOSSIP_INTERVAL_MS = 1_000;
export const MIN_GOSSIP_INTERVAL_MS = 10;
export const MAX_GOSSIP_INTERVAL_MS = 60_000;
/**
 * Any free port: peers learn the actual port from discovery beacons, so several nodes share one host with no
 * configuration. Deployments behind a firewall set a fixed port (45893 by convention, as docker-compose.yaml does).
 */
export const DEFAULT_MESH_PORT = 0;
/** The conventional fixed mesh port for firewalled deployments. */
export const CONVENTIONAL_MESH_PORT = 45_893;
/** A secret shorter than this is refused: 16 bytes is the least that keeps HKDF-derived keys out of brute-force reach. */
export const MIN_CLUSTER_SECRET_BYTES = 16;
/** Where the config file is looked for, under the working directory, when none is named. */
export const DEFAULT_CONFIG_FILE = 'config/gater.json';
