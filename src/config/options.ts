/**
 * The schema of the configuration: one entry per `GaterConfig` field with its names in every layer, its parser, its
 * default and one line of documentation. `config/README.md` documents the same table (a test checks it), and
 * `gater start --help` is generated from it.
 */
import { LOG_FORMATS, LOG_LEVELS, DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL } from '../log/levels.ts';
import * as D from './defaults.ts';
import type { ConfigKey, GaterConfig } from './gater-config.ts';
import { boolean, exactlyOne, host, integer, ip, ipv4, list, oneOf, secret, seed, text, url, type Parser } from './parsers.ts';

/** What a computed default may depend on: only options whose own defaults are fixed values. */
export interface DefaultContext {
  readonly hostname: string;
  readonly broadcastOnly: boolean;
  readonly gossipIf: string;
}

export interface OptionSpec<T> {
  /** One line: what the option does. */
  readonly doc: string;
  /** Unit of a quantity (`ms`, `port`, `count`), when it has one. */
  readonly unit?: string;
  /** Environment variables, the gater name first; an earlier name wins over a later one (aliases such as the
   * seed's `EX_ESDB_*` come last). */
  readonly env: readonly string[];
  /** The flag of `gater start`, without dashes; absent for secrets, which would show in the process list. */
  readonly flag?: string;
  /** Parsers of the variables whose value is written differently from the option's (by variable name); the others
   * use `parser`. */
  readonly envParsers?: Readonly<Record<string, Parser<NonNullable<T>>>>;
  /** Never printed: `redactConfig` hides it and error messages do not repeat it. */
  readonly secret?: boolean;
  readonly parser: Parser<NonNullable<T>>;
  /** A value, or a function of other options (see DefaultContext); undefined when the option has no default. */
  readonly default: T | ((context: DefaultContext) => T);
  /** The default as the documentation shows it. */
  readonly defaultText: string;
}

export type OptionTable = { readonly [K in ConfigKey]: OptionSpec<GaterConfig[K]> };

const STORE_ID = text('a store id ([A-Za-z0-9_-]{1,64})', /^[A-Za-z0-9_-]{1,64}$/);

export const OPTIONS: OptionTable = {
  nodeName: {
    doc: "This node's name in logs, `gater status` and the cluster view.",
    env: ['GATER_NODE_NAME'],
    flag: 'node-name',
    parser: text('a name of letters, digits, `.`, `_` and `-` (1–253)', /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/),
    default: (c) => c.hostname,
    defaultText: 'the host name',
  },
  dataDir: {
    doc: 'Directory of the node state (embedded stores, node identity); relative paths are taken from the working directory.',
    unit: 'path',
    env: ['GATER_DATA_DIR', 'EX_ESDB_DATA_DIR'],
    flag: 'data-dir',
    parser: text('a directory path'),
    default: D.DEFAULT_DATA_DIR,
    defaultText: D.DEFAULT_DATA_DIR,
  },
  stores: {
    doc: 'Ids of the stores this node hosts, comma-separated; set but empty makes a pure gateway node.',
    unit: 'list',
    env: ['GATER_STORES', 'EX_ESDB_STORE_ID'],
    // The seed's variable names the one store of a node.
    envParsers: { EX_ESDB_STORE_ID: exactlyOne(STORE_ID, `one store id ([A-Za-z0-9_-]{1,64}); for several, or none, set GATER_STORES`) },
    flag: 'stores',
    parser: list(STORE_ID, 'a comma-separated list of store ids'),
    default: D.DEFAULT_STORES,
    defaultText: D.DEFAULT_STORES.join(','),
  },
  storeBackend: {
    doc: 'Engine of the hosted stores: embedded `sqlite`, or `postgres` shared by several nodes.',
    env: ['GATER_STORE_BACKEND'],
    flag: 'store-backend',
    parser: oneOf(['sqlite', 'postgres']),
    default: D.DEFAULT_STORE_BACKEND,
    defaultText: D.DEFAULT_STORE_BACKEND,
  },
  pgUrl: {
    doc: 'PostgreSQL connection URL; required when `storeBackend` is `postgres`.',
    unit: 'URL',
    env: ['GATER_PG_URL'],
    secret: true,
    parser: url(['postgres:', 'postgresql:']),
    default: undefined,
    defaultText: 'none',
  },
  gatewayPoolSize: {
    doc: 'Gateway workers per hosted store.',
    unit: 'count',
    env: ['GATER_GATEWAY_POOL_SIZE'],
    flag: 'gateway-pool-size',
    parser: integer(1, D.MAX_GATEWAY_POOL_SIZE),
    default: D.DEFAULT_GATEWAY_POOL_SIZE,
    defaultText: String(D.DEFAULT_GATEWAY_POOL_SIZE),
  },
  sqliteSynchronous: {
    doc: 'SQLite `synchronous`: FULL survives power loss, NORMAL only a process crash.',
    env: ['GATER_SQLITE_SYNCHRONOUS'],
    flag: 'sqlite-synchronous',
    parser: oneOf(['FULL', 'NORMAL']),
    default: D.DEFAULT_SQLITE_SYNCHRONOUS,
    defaultText: D.DEFAULT_SQLITE_SYNCHRONOUS,
  },
  httpHost: {
    doc: 'Address the HTTP API listens on.',
    env: ['GATER_HTTP_HOST'],
    flag: 'http-host',
    parser: host(),
    default: D.DEFAULT_HTTP_HOST,
    defaultText: D.DEFAULT_HTTP_HOST,
  },
  httpPort: {
    doc: 'TCP port of the HTTP API; 0 picks any free port.',
    unit: 'port',
    env: ['GATER_HTTP_PORT'],
    flag: 'http-port',
    parser: integer(0, 65_535),
    default: D.DEFAULT_HTTP_PORT,
    defaultText: String(D.DEFAULT_HTTP_PORT),
  },
  callTimeoutMs: {
    doc: 'Deadline of a store call through the gateway, retries included.',
    unit: 'ms',
    env: ['GATER_CALL_TIMEOUT_MS', 'EX_ESDB_TIMEOUT'],
    flag: 'call-timeout-ms',
    parser: integer(1, D.MAX_CALL_TIMEOUT_MS),
    default: D.DEFAULT_CALL_TIMEOUT_MS,
    defaultText: String(D.DEFAULT_CALL_TIMEOUT_MS),
  },
  logLevel: {
    doc: `Least severe level logged: ${LOG_LEVELS.join(', ')}.`,
    env: ['GATER_LOG_LEVEL', 'LOG_LEVEL'],
    flag: 'log-level',
    parser: oneOf(LOG_LEVELS),
    default: DEFAULT_LOG_LEVEL,
    defaultText: DEFAULT_LOG_LEVEL,
  },
  logFormat: {
    doc: '`auto` (pretty on a terminal, JSON lines otherwise), `json` or `pretty`.',
    env: ['GATER_LOG_FORMAT'],
    flag: 'log-format',
    parser: oneOf(LOG_FORMATS),
    default: DEFAULT_LOG_FORMAT,
    defaultText: DEFAULT_LOG_FORMAT,
  },
  clusterName: {
    doc: 'Label of the cluster; nodes of another cluster are ignored.',
    env: ['GATER_CLUSTER_NAME'],
    flag: 'cluster-name',
    parser: text('a name of letters, digits, `.`, `_` and `-` (1–64)', /^[A-Za-z0-9._-]{1,64}$/),
    default: D.DEFAULT_CLUSTER_NAME,
    defaultText: D.DEFAULT_CLUSTER_NAME,
  },
  clusterSecret: {
    doc: `Shared secret authenticating gossip and keying the mesh, at least ${D.MIN_CLUSTER_SECRET_BYTES} bytes; required once gossip or the mesh leaves loopback.`,
    env: ['GATER_CLUSTER_SECRET', 'EX_ESDB_CLUSTER_SECRET'],
    secret: true,
    parser: secret(D.MIN_CLUSTER_SECRET_BYTES),
    default: undefined,
    defaultText: 'none',
  },
  clusterSecretPrevious: {
    doc: 'Older secrets still accepted (never sent), comma-separated, for rotating the secret node by node.',
    unit: 'list',
    env: ['GATER_CLUSTER_SECRET_PREVIOUS'],
    secret: true,
    parser: list(secret(D.MIN_CLUSTER_SECRET_BYTES), 'a comma-separated list of secrets'),
    default: [],
    defaultText: 'empty',
  },
  gossipPort: {
    doc: 'UDP port of gossip (the same on every node).',
    unit: 'port',
    env: ['GATER_GOSSIP_PORT', 'EX_ESDB_GOSSIP_PORT'],
    flag: 'gossip-port',
    parser: integer(1, 65_535),
    default: D.DEFAULT_GOSSIP_PORT,
    defaultText: String(D.DEFAULT_GOSSIP_PORT),
  },
  gossipAddr: {
    doc: 'IPv4 multicast group gossip is sent to, or with `broadcastOnly` a broadcast address.',
    env: ['GATER_GOSSIP_ADDR', 'EX_ESDB_GOSSIP_MULTICAST_ADDR'],
    flag: 'gossip-addr',
    parser: ipv4(),
    default: (c) => (c.broadcastOnly ? D.DEFAULT_GOSSIP_BROADCAST_ADDR : D.DEFAULT_GOSSIP_MULTICAST_ADDR),
    defaultText: `${D.DEFAULT_GOSSIP_MULTICAST_ADDR} (${D.DEFAULT_GOSSIP_BROADCAST_ADDR} with broadcastOnly)`,
  },
  gossipIf: {
    doc: 'IPv4 address of the interface gossip binds and joins on; 0.0.0.0 is every interface.',
    env: ['GATER_GOSSIP_IF'],
    flag: 'gossip-if',
    parser: ipv4(),
    default: D.DEFAULT_GOSSIP_IF,
    defaultText: D.DEFAULT_GOSSIP_IF,
  },
  broadcastOnly: {
    doc: 'Gossip by UDP broadcast instead of multicast (networks that drop multicast).',
    env: ['GATER_BROADCAST_ONLY'],
    flag: 'broadcast-only',
    parser: boolean(),
    default: D.DEFAULT_BROADCAST_ONLY,
    defaultText: String(D.DEFAULT_BROADCAST_ONLY),
  },
  gossipMulticast: {
    doc: 'Gossip on the multicast group `gossipAddr`; false leaves the unicast `seeds` only (unless `broadcastOnly`), for networks that carry neither multicast nor broadcast. Nodes sharing a host then need a `gossipPort` each.',
    env: ['GATER_GOSSIP_MULTICAST'],
    flag: 'gossip-multicast',
    parser: boolean(),
    default: D.DEFAULT_GOSSIP_MULTICAST,
    defaultText: String(D.DEFAULT_GOSSIP_MULTICAST),
  },
  seeds: {
    doc: 'Peers also sent gossip by unicast, `host:port` comma-separated (an IPv4 address or a host name: gossip is IPv4 only), for networks without multicast or broadcast.',
    unit: 'list',
    env: ['GATER_SEEDS'],
    flag: 'seeds',
    parser: list(seed(), 'a comma-separated list of host:port'),
    default: [],
    defaultText: 'empty',
  },
  gossipIntervalMs: {
    doc: 'Time between two gossip beacons.',
    unit: 'ms',
    env: ['GATER_GOSSIP_INTERVAL_MS'],
    flag: 'gossip-interval-ms',
    parser: integer(D.MIN_GOSSIP_INTERVAL_MS, D.MAX_GOSSIP_INTERVAL_MS),
    default: D.DEFAULT_GOSSIP_INTERVAL_MS,
    defaultText: String(D.DEFAULT_GOSSIP_INTERVAL_MS),
  },
  meshPort: {
    doc: 'TCP port of the mesh (peer-to-peer RPC); 0 picks any free port, announced to peers by discovery. Set a fixed port (45893 by convention) where a firewall needs one.',
    unit: 'port',
    env: ['GATER_MESH_PORT'],
    flag: 'mesh-port',
    parser: integer(0, 65_535),
    default: D.DEFAULT_MESH_PORT,
    defaultText: String(D.DEFAULT_MESH_PORT),
  },
  meshHost: {
    doc: 'IP address the mesh listens on (not a host name: the mesh binds it).',
    env: ['GATER_MESH_HOST'],
    flag: 'mesh-host',
    parser: ip(),
    default: (c) => c.gossipIf,
    defaultText: 'gossipIf',
  },
};

export const CONFIG_KEYS = Object.keys(OPTIONS) as ConfigKey[];

/** The variable that names the config file. */
export const CONFIG_FILE_ENV = 'GATER_CONFIG';
/** The flag that names the config file. */
export const CONFIG_FILE_FLAG = 'config';
