/**
 * The options of gossip discovery, validated once and frozen. Unknown keys are rejected with their names; every error
 * is an InvalidArgumentError naming the field.
 *
 * Timing: a node beacons every `intervalMs` (±20% jitter). A peer silent for `probeAfterMs` (1.5 intervals) is probed
 * directly every `probeIntervalMs` (a quarter interval) until heard; silent for `suspectAfterMs` (3 intervals) it is
 * suspect, for `deadAfterMs` (5 intervals) dead, for `forgetAfterMs` (60 intervals) forgotten. Faster detection costs
 * more false suspicion under loss or pauses; the windows scale with the interval unless set, so a test that shortens
 * the interval shortens detection with it. `constants.ts` explains each multiple.
 */
import { isIPv4 } from 'node:net';
import { InvalidArgumentError } from '../errors/index.ts';
import {
  DEAD_AFTER_INTERVALS,
  DEFAULT_BIND_ADDRESS,
  DEFAULT_BROADCAST_ADDRESS,
  DEFAULT_GOSSIP_PORT,
  DEFAULT_INTERVAL_MS,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_MULTICAST_GROUP,
  DEFAULT_MULTICAST_TTL,
  FORGET_AFTER_INTERVALS,
  INTERVAL_JITTER_RATIO,
  MAX_INTERVAL_MS,
  MAX_MULTICAST_TTL,
  MIN_INTERVAL_MS,
  MIN_SECRET_BYTES,
  PROBE_AFTER_INTERVALS,
  PROBES_PER_INTERVAL,
  SUSPECT_AFTER_INTERVALS,
} from './constants.ts';
import { isLoopbackHost, isLoopbackIPv4, isMulticastIPv4, parseEndpoint, type Endpoint } from './endpoint.ts';
import type { GossipSecrets } from './keyring.ts';
import { CLUSTER_NAME_FIELD, NODE_ID_FIELD, NODE_NAME_FIELD, isValidText } from './payload-codec.ts';
import type { Advertisement } from './types.ts';

export interface DiscoveryInit {
  /** Label of the cluster: part of every key and of every packet; nodes of another cluster are ignored. */
  clusterName: string;
  /** This node's id (its libp2p peer id in a full node), stable across restarts. */
  nodeId: string;
  /** This node's name in peers' tables. @default nodeId */
  nodeName?: string;
  /** Grows on every start of the node (the caller persists it), so peers replace what they knew of a previous life. */
  incarnation: number;
  /**
   * The keyring: packets are sealed with `primary` and accepted under `primary` or any of `previous`; each secret at
   * least 16 bytes. Without a primary secret, keys derive from the cluster name alone, which authenticates nothing:
   * allowed only while all gossip stays on loopback. See `keyring.ts` for rotation. @default no secret
   */
  secrets?: GossipSecrets;
  /**
   * UDP port of gossip. With multicast or broadcast every node uses the same port (nodes on one host share it); with
   * unicast seeds only, each node on a host needs its own, and 0 picks a free one. @default 45892
   */
  port?: number;
  /** IPv4 address of the interface gossip binds, joins the group on and sends from; 0.0.0.0 is every interface.
   * @default '127.0.0.1' */
  bindAddress?: string;
  /** Multicast group (224.0.0.0/4), or with `broadcastOnly` a broadcast address.
   * @default '239.255.43.21', or '255.255.255.255' with `broadcastOnly` */
  group?: string;
  /** Send to the broadcast address `group` instead of a multicast group (as the seed's libcluster does).
   * @default false */
  broadcastOnly?: boolean;
  /** Gossip on the multicast group; false leaves unicast seeds only (unless `broadcastOnly`). @default true */
  multicast?: boolean;
  /** Nodes that also receive every beacon by unicast, for networks that carry no multicast: `host:port` strings or
   * `{ host, port }` objects, host an IPv4 address or a host name. @default [] */
  seeds?: readonly (string | Endpoint)[];
  /** Multicast time to live, in hops. @default 1 */
  ttl?: number;
  /** Time between two beacons, in milliseconds; each is drawn within ±20%. @default 1000 */
  intervalMs?: number;
  /** Silence after which a peer is suspect, in milliseconds; must exceed 1.2 × intervalMs.
   * @default 3 × intervalMs (3000) */
  suspectAfterMs?: number;
  /** Silence after which a peer is dead, in milliseconds; must exceed suspectAfterMs.
   * @default 5 × intervalMs (5000), or suspectAfterMs + intervalMs if that is more */
  deadAfterMs?: number;
  /**
   * Silence after which a peer is probed directly, in milliseconds: unicast probes it answers at once, so that lost
   * beacons alone do not make it suspect or dead. From 1 to suspectAfterMs.
   * @default 1.5 × intervalMs (1500), or suspectAfterMs if that is less
   */
  probeAfterMs?: number;
  /** Time between two probes of a silent peer, in milliseconds. @default intervalMs / 4 (250), at least 1 */
  probeIntervalMs?: number;
  /** Silence after which a dead peer is forgotten, in milliseconds; must exceed deadAfterMs.
   * @default 60 × intervalMs (60000), or deadAfterMs + intervalMs if that is more */
  forgetAfterMs?: number;
  /** Largest accepted difference between a packet's timestamp and our clock, in milliseconds. @default 30000 */
  maxClockSkewMs?: number;
  /** What this node announces: read for every beacon, so a change shows in the next one (or at once with
   * `refresh()`). @default nothing */
  advertise?: () => Advertisement;
}

/** How beacons reach the group: by multicast, by broadcast, or not at all (unicast seeds only). */
export type GroupMode = 'multicast' | 'broadcast' | 'none';

export interface DiscoveryConfig {
  readonly clusterName: string;
  readonly nodeId: string;
  readonly nodeName: string;
  readonly incarnation: number;
  readonly secrets: GossipSecrets;
  readonly port: number;
  readonly bindAddress: string;
  readonly groupMode: GroupMode;
  /** The multicast group or broadcast address; meaningless with `groupMode` `none`. */
  readonly group: string;
  readonly seeds: readonly Endpoint[];
  readonly ttl: number;
  readonly intervalMs: number;
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
  readonly forgetAfterMs: number;
  readonly probeAfterMs: number;
  readonly probeIntervalMs: number;
  readonly maxClockSkewMs: number;
  readonly advertise: () => Advertisement;
}

const INIT_KEYS: ReadonlySet<string> = new Set([
  'clusterName',
  'nodeId',
  'nodeName',
  'incarnation',
  'secrets',
  'port',
  'bindAddress',
  'group',
  'broadcastOnly',
  'multicast',
  'seeds',
  'ttl',
  'intervalMs',
  'suspectAfterMs',
  'deadAfterMs',
  'forgetAfterMs',
  'probeAfterMs',
  'probeIntervalMs',
  'maxClockSkewMs',
  'advertise',
]);

const NOTHING_ADVERTISED: Advertisement = Object.freeze({ addrs: [], roles: [], stores: [] });

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function optionalInteger(field: string, value: unknown, fallback: number, min: number, max: number): number {
  return value === undefined ? fallback : integer(field, value, min, max);
}

function boolean(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(field, 'must be a boolean');
  return value;
}

function ipv4(field: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !isIPv4(value)) throw new InvalidArgumentError(field, 'must be an IPv4 address');
  return value;
}

function secret(field: string, value: unknown): string {
  if (typeof value !== 'string' || Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES) {
    throw new InvalidArgumentError(field, `must be a secret of at least ${MIN_SECRET_BYTES} bytes`);
  }
  return value;
}

function resolveSecrets(value: unknown): GossipSecrets {
  if (value === undefined) return Object.freeze({ previous: Object.freeze([]) });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError('secrets', 'must be an object { primary?, previous? }');
  }
  const unknown = Object.keys(value).filter((key) => key !== 'primary' && key !== 'previous');
  if (unknown.length > 0) throw new InvalidArgumentError('secrets', `has unknown keys: ${unknown.join(', ')}`);
  const { primary, previous } = value as { primary?: unknown; previous?: unknown };
  if (previous !== undefined && !Array.isArray(previous)) {
    throw new InvalidArgumentError('secrets.previous', 'must be an array of secrets');
  }
  const olds = (previous ?? []).map((item: unknown, i: number) => secret(`secrets.previous[${i}]`, item));
  if (primary === undefined) {
    if (olds.length > 0) throw new InvalidArgumentError('secrets.primary', 'is required when previous secrets are set');
    return Object.freeze({ previous: Object.freeze([]) });
  }
  return Object.freeze({ primary: secret('secrets.primary', primary), previous: Object.freeze(olds) });
}

function resolveSeeds(value: unknown): readonly Endpoint[] {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value)) throw new InvalidArgumentError('seeds', 'must be an array of host:port strings');
  return Object.freeze(
    value.map((item: unknown, i: number) => {
      const text =
        typeof item === 'object' && item !== null ? `${(item as Endpoint).host}:${(item as Endpoint).port}` : item;
      const endpoint = typeof text === 'string' ? parseEndpoint(text) : undefined;
      if (endpoint === undefined) {
        const expected = 'must be host:port (an IPv4 address or host name, port 1–65535)';
        throw new InvalidArgumentError(`seeds[${i}]`, expected);
      }
      return Object.freeze(endpoint);
    }),
  );
}

/** Validates `init`, applies the defaults and freezes the result. */
export function resolveDiscoveryConfig(init: DiscoveryInit): DiscoveryConfig {
  if (typeof init !== 'object' || init === null) throw new InvalidArgumentError('discovery', 'must be an object');
  const unknown = Object.keys(init).filter((key) => !INIT_KEYS.has(key));
  if (unknown.length > 0) throw new InvalidArgumentError('discovery', `has unknown options: ${unknown.join(', ')}`);

  if (!isValidText(CLUSTER_NAME_FIELD, init.clusterName)) {
    throw new InvalidArgumentError('clusterName', `must be ${CLUSTER_NAME_FIELD.expected}`);
  }
  if (!isValidText(NODE_ID_FIELD, init.nodeId)) {
    throw new InvalidArgumentError('nodeId', `must be ${NODE_ID_FIELD.expected}`);
  }
  const nodeName = init.nodeName ?? init.nodeId;
  if (!isValidText(NODE_NAME_FIELD, nodeName)) {
    throw new InvalidArgumentError('nodeName', `must be ${NODE_NAME_FIELD.expected}`);
  }
  const incarnation = integer('incarnation', init.incarnation, 0, Number.MAX_SAFE_INTEGER);
  const secrets = resolveSecrets(init.secrets);

  const broadcastOnly = boolean('broadcastOnly', init.broadcastOnly, false);
  const multicast = boolean('multicast', init.multicast, true);
  const groupMode: GroupMode = broadcastOnly ? 'broadcast' : multicast ? 'multicast' : 'none';
  const group = ipv4('group', init.group, broadcastOnly ? DEFAULT_BROADCAST_ADDRESS : DEFAULT_MULTICAST_GROUP);
  if (groupMode === 'multicast' && !isMulticastIPv4(group)) {
    throw new InvalidArgumentError('group', 'must be an IPv4 multicast group (224.0.0.0/4), or set broadcastOnly');
  }
  const bindAddress = ipv4('bindAddress', init.bindAddress, DEFAULT_BIND_ADDRESS);
  // A port shared by several sockets cannot be picked at random: 0 only makes sense for a unicast-only node.
  const port = optionalInteger('port', init.port, DEFAULT_GOSSIP_PORT, groupMode === 'none' ? 0 : 1, 65_535);
  const seeds = resolveSeeds(init.seeds);
  const ttl = optionalInteger('ttl', init.ttl, DEFAULT_MULTICAST_TTL, 1, MAX_MULTICAST_TTL);

  const intervalMs = optionalInteger(
    'intervalMs',
    init.intervalMs,
    DEFAULT_INTERVAL_MS,
    MIN_INTERVAL_MS,
    MAX_INTERVAL_MS,
  );
  const longestGapMs = Math.ceil(intervalMs * (1 + INTERVAL_JITTER_RATIO));
  const suspectAfterMs = optionalInteger(
    'suspectAfterMs',
    init.suspectAfterMs,
    SUSPECT_AFTER_INTERVALS * intervalMs,
    longestGapMs + 1,
    Number.MAX_SAFE_INTEGER,
  );
  const deadAfterMs = optionalInteger(
    'deadAfterMs',
    init.deadAfterMs,
    Math.max(DEAD_AFTER_INTERVALS * intervalMs, suspectAfterMs + intervalMs),
    suspectAfterMs + 1,
    Number.MAX_SAFE_INTEGER,
  );
  const forgetAfterMs = optionalInteger(
    'forgetAfterMs',
    init.forgetAfterMs,
    Math.max(FORGET_AFTER_INTERVALS * intervalMs, deadAfterMs + intervalMs),
    deadAfterMs + 1,
    Number.MAX_SAFE_INTEGER,
  );
  const probeAfterMs = optionalInteger(
    'probeAfterMs',
    init.probeAfterMs,
    Math.min(Math.round(PROBE_AFTER_INTERVALS * intervalMs), suspectAfterMs),
    1,
    suspectAfterMs,
  );
  const probeIntervalMs = optionalInteger(
    'probeIntervalMs',
    init.probeIntervalMs,
    Math.max(1, Math.round(intervalMs / PROBES_PER_INTERVAL)),
    1,
    MAX_INTERVAL_MS,
  );
  const maxClockSkewMs = optionalInteger(
    'maxClockSkewMs',
    init.maxClockSkewMs,
    DEFAULT_MAX_CLOCK_SKEW_MS,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  if (init.advertise !== undefined && typeof init.advertise !== 'function') {
    throw new InvalidArgumentError('advertise', 'must be a function returning { addrs, roles, stores }');
  }
  const advertise = init.advertise ?? (() => NOTHING_ADVERTISED);

  if (secrets.primary === undefined) {
    const beyond: string[] = [];
    if (!isLoopbackIPv4(bindAddress)) beyond.push(`bindAddress ${bindAddress}`);
    if (groupMode === 'broadcast' && !isLoopbackIPv4(group)) beyond.push(`broadcast address ${group}`);
    for (const seed of seeds) if (!isLoopbackHost(seed.host)) beyond.push(`seed ${seed.host}`);
    if (beyond.length > 0) {
      throw new InvalidArgumentError(
        'secrets.primary',
        `gossip leaves loopback (${beyond.join(', ')}), so a cluster secret of at least ${MIN_SECRET_BYTES} bytes ` +
          'is required: set GATER_CLUSTER_SECRET (e.g. to the output of `openssl rand -base64 32`) to the same ' +
          'value on every node',
      );
    }
  }

  return Object.freeze({
    clusterName: init.clusterName,
    nodeId: init.nodeId,
    nodeName,
    incarnation,
    secrets,
    port,
    bindAddress,
    groupMode,
    group,
    seeds,
    ttl,
    intervalMs,
    suspectAfterMs,
    deadAfterMs,
    forgetAfterMs,
    probeAfterMs,
    probeIntervalMs,
    maxClockSkewMs,
    advertise,
  });
}
