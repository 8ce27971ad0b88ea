import type { LogFormat, LogLevel } from '../log/levels.ts';
import type { StoreBackendName } from '../store/event-store.ts';

/** One unicast gossip seed. */
export interface SeedAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * The validated configuration of one node, deeply frozen. Built by `loadConfig` from defaults < config file <
 * environment < flags; `config/README.md` lists the environment variable and flag of every field.
 */
export interface GaterConfig {
  /** This node's name in logs, `status` and the cluster view. @default the host name */
  readonly nodeName: string;
  /** Directory of the node's state (embedded stores, node identity), absolute (a relative value is resolved against
   * the working directory). @default './data' */
  readonly dataDir: string;
  /** Ids of the stores this node hosts (`[A-Za-z0-9_-]{1,64}`). Empty: a pure gateway node. @default ['default'] */
  readonly stores: readonly string[];
  /** Engine of the hosted stores. @default 'sqlite' */
  readonly storeBackend: StoreBackendName;
  /** Connection URL of the PostgreSQL server; set exactly when `storeBackend` is `postgres`. */
  readonly pgUrl: string | undefined;
  /** Gateway workers per hosted store, 1–64. @default 1 */
  readonly gatewayPoolSize: number;
  /** SQLite `synchronous` pragma: FULL makes every acknowledged append survive power loss; NORMAL only a process
   * crash. @default 'FULL' */
  readonly sqliteSynchronous: 'FULL' | 'NORMAL';
  /** Address the HTTP API listens on. @default '0.0.0.0' */
  readonly httpHost: string;
  /** Port of the HTTP API; 0 picks any free port. @default 4001 */
  readonly httpPort: number;
  /** Deadline of a store call made through the gateway, retries included, in milliseconds. @default 5000 */
  readonly callTimeoutMs: number;
  /** @default 'info' */
  readonly logLevel: LogLevel;
  /** @default 'auto' (pretty on a TTY, JSON lines otherwise) */
  readonly logFormat: LogFormat;
  /** Label of the cluster; nodes of different clusters ignore each other. @default 'gater' */
  readonly clusterName: string;
  /** Shared secret that authenticates gossip and keys the mesh; at least 16 bytes. Undefined only on a node whose
   * gossip and mesh stay on loopback: derive nothing from it then. */
  readonly clusterSecret: string | undefined;
  /** Older secrets still accepted (never sent), so a secret can be rotated node by node. @default [] */
  readonly clusterSecretPrevious: readonly string[];
  /** UDP port of gossip. @default 45892 */
  readonly gossipPort: number;
  /** IPv4 multicast group gossip is sent to, or with `broadcastOnly` a broadcast address.
   * @default '239.255.43.21', or '255.255.255.255' with `broadcastOnly` */
  readonly gossipAddr: string;
  /** IPv4 address of the interface gossip binds and joins the group on; 0.0.0.0 is every interface.
   * @default '127.0.0.1' */
  readonly gossipIf: string;
  /** Gossip by UDP broadcast instead of multicast, for networks that drop multicast. @default false */
  readonly broadcastOnly: boolean;
  /** Gossip on the multicast group `gossipAddr`; false leaves unicast `seeds` only (unless `broadcastOnly`), for
   * networks that carry neither multicast nor broadcast. @default true */
  readonly gossipMulticast: boolean;
  /** Peers gossip is also sent to by unicast, for networks without multicast or broadcast: each host an IPv4 address
   * or a host name (resolved to its IPv4 addresses), since gossip is IPv4 only. @default [] */
  readonly seeds: readonly SeedAddress[];
  /** Time between two gossip beacons, in milliseconds. @default 1000 */
  readonly gossipIntervalMs: number;
  /** TCP port of the mesh (peer-to-peer RPC); 0 picks any free port, which discovery announces to peers. A firewalled
   * deployment sets a fixed one (45893 by convention). @default 0 */
  readonly meshPort: number;
  /** IP address the mesh listens on (IPv4 or IPv6; not a host name). @default `gossipIf`, so a loopback node's mesh
   * stays on loopback too */
  readonly meshHost: string;
}

export type ConfigKey = keyof GaterConfig;
