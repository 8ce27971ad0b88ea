/**
 * Gossip discovery: beacons this node's presence over UDP, listens for its peers', and keeps the peer table.
 *
 * Each interval (with jitter) a beacon goes to the group (multicast or broadcast), to every seed (host names resolved
 * again each round to all their addresses, see seed-resolver.ts), to live peers whose
 * group traffic does not reach us, and to endpoints peers hinted at. Every datagram gets its own sequence number. A
 * peer heard for the first time (or restarted, or back) gets a prompt unicast reply, so a cluster forms in
 * milliseconds rather than an interval. A peer silent for `probeAfterMs` is probed directly by unicast every
 * `probeIntervalMs`, and answers each probe with an ack at once: lost beacons alone do not make a live peer suspect or
 * dead, only silence to the probes as well. Received datagrams go through the codec (size, header, key, authentication,
 * fields), then the self, skew and replay checks; whatever fails is dropped and counted by reason, and nothing a
 * datagram contains can make the handler throw. A stopping node tells its peers it leaves.
 */
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import { checkAdvertisement } from './advertisement.ts';
import {
  DROP_LOG_WINDOW_MS,
  INTERVAL_JITTER_RATIO,
  LEAVE_SEND_TIMEOUT_MS,
  MAX_INTRODUCED_ENDPOINTS,
  REPLY_MIN_GAP_MS,
  STALL_TOLERANCE_MS,
} from './constants.ts';
import { resolveDiscoveryConfig, type DiscoveryConfig, type DiscoveryInit } from './discovery-config.ts';
import { DropLog } from './drop-log.ts';
import { formatEndpoint, isMulticastIPv4, splitIPv4Endpoint } from './endpoint.ts';
import { Keyring } from './keyring.ts';
import { PacketCodec } from './packet-codec.ts';
import type { GossipPayload } from './payload-codec.ts';
import { PeerTable, type PeerChange } from './peer-table.ts';
import { RateLimiter } from './rate-limiter.ts';
import { ReplayGuard } from './replay-guard.ts';
import { SeedResolver, type ResolveHost } from './seed-resolver.ts';
import { GossipTransport } from './transport.ts';
import {
  systemDiscoveryClock,
  type Advertisement,
  type DiscoveryClock,
  type DiscoveryEvents,
  type DiscoveryStats,
  type PeerInfo,
} from './types.ts';
import { MESSAGE_KIND, type MessageKindName } from './wire-format.ts';

export interface DiscoveryComponents {
  /** @default a silent logger */
  logger?: Logger;
  /** @default the system clock */
  clock?: DiscoveryClock;
  /** Resolves seeds given as host names to all their IPv4 addresses. @default the system resolver (getaddrinfo) */
  resolveHost?: ResolveHost;
  /**
   * Whether a sender's node id is one this node can use (a full node: a libp2p peer id). Packets of other ids are
   * dropped as malformed before they reach the peer table. @default every id the packet format allows
   */
  acceptsNodeId?: (nodeId: string) => boolean;
}

/** Where one datagram goes: the group, or one endpoint. */
type Target = { readonly group: true } | { readonly group: false; readonly host: string; readonly port: number };

type Lifecycle = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Accepted node ids remembered at most; the set starts over when full (a cluster has far fewer nodes). */
const ACCEPTED_NODE_IDS_MAX = 4096;

const KIND_NAMES = new Map<number, MessageKindName>(
  Object.entries(MESSAGE_KIND).map(([name, kind]) => [kind, name as MessageKindName]),
);

function targetKey(target: Target): string {
  return target.group ? 'group' : formatEndpoint(target.host, target.port);
}

function unicast(endpoint: string): Target | undefined {
  const split = splitIPv4Endpoint(endpoint);
  return split === undefined ? undefined : { group: false, host: split.address, port: split.port };
}

/** A hinted endpoint worth beaconing: a unicast IPv4 address that is not the network's or the broadcast's. */
function usableHint(endpoint: string): boolean {
  const split = splitIPv4Endpoint(endpoint);
  if (split === undefined) return false;
  const a = split.address;
  return a !== '0.0.0.0' && a !== '255.255.255.255' && !isMulticastIPv4(a);
}

export class GossipDiscovery extends EventEmitter<DiscoveryEvents> {
  /** Private: it holds the secrets. */
  private readonly config: DiscoveryConfig;
  private readonly logger: Logger;
  private readonly clock: DiscoveryClock;
  private readonly acceptsNodeId: ((nodeId: string) => boolean) | undefined;
  /** Node ids `acceptsNodeId` accepted, so that it runs once per sender, not once per packet. */
  private readonly acceptedNodeIds = new Set<string>();
  private readonly keyring: Keyring;
  private readonly codec: PacketCodec;
  private readonly table: PeerTable;
  private readonly replay: ReplayGuard;
  private readonly drops: DropLog;
  private readonly seedResolver: SeedResolver;
  private readonly replies = new RateLimiter(REPLY_MIN_GAP_MS);
  /** Rate limits warnings that could otherwise repeat with every packet. */
  private readonly warnings = new RateLimiter(DROP_LOG_WINDOW_MS);
  /** Endpoints hinted by peers and not heard from yet, with when to give up on them (monotonic ms). */
  private readonly introduced = new Map<string, number>();
  private transport: GossipTransport | undefined;
  private lifecycle: Lifecycle = 'new';
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /** Sequence of the last datagram sent; never reset, so a restart of this object stays newer than its past. */
  private sequence = 0;
  private beaconTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** When the sweep timer fires (monotonic ms); meaningful while it is set. */
  private sweepAt = 0;
  private advertised: Advertisement = { addrs: [], roles: [], stores: [] };
  private advertisedTruncated = false;
  private beaconsSent = 0;
  private beaconsReceived = 0;
  private probesSent = 0;
  private acksReceived = 0;
  private sendErrors = 0;

  constructor(components: DiscoveryComponents, init: DiscoveryInit) {
    super();
    this.config = resolveDiscoveryConfig(init);
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.clock = components.clock ?? systemDiscoveryClock;
    this.acceptsNodeId = components.acceptsNodeId;
    this.keyring = new Keyring(this.config.clusterName, this.config.secrets);
    this.codec = new PacketCodec(this.config.clusterName, this.keyring);
    this.table = new PeerTable(this.config);
    // See replay-guard.ts: after twice the skew window every packet of a silent node is stale anyway.
    this.replay = new ReplayGuard(Math.max(this.config.forgetAfterMs, 2 * this.config.maxClockSkewMs));
    this.drops = new DropLog(this.logger, DROP_LOG_WINDOW_MS);
    this.seedResolver = new SeedResolver(
      {
        logger: this.logger,
        now: () => this.clock.monotonicNow(),
        ...(components.resolveHost === undefined ? {} : { resolveHost: components.resolveHost }),
      },
      // Addresses a seed name gains are beaconed at once rather than at the next round.
      { seeds: this.config.seeds, onNew: (endpoints) => this.beaconNewSeeds(endpoints) },
    );
  }

  /** Binds the sockets and sends the first beacon. Idempotent; throws an UnavailableError if a socket cannot bind. */
  start(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping.then(() => this.start());
    if (this.starting !== undefined) return this.starting;
    if (this.lifecycle === 'running') return Promise.resolve();
    this.lifecycle = 'starting';
    this.starting = this.open().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /**
   * Tells peers this node leaves, then clears every timer and closes every socket. Idempotent. The peer table is
   * emptied without events: whoever stops discovery stops listening to it too.
   */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    if (this.lifecycle === 'new' || this.lifecycle === 'stopped') return Promise.resolve();
    const begun = this.starting ?? Promise.resolve();
    this.stopping = begun
      .catch(() => undefined)
      .then(() => this.close())
      .finally(() => {
        this.stopping = undefined;
      });
    return this.stopping;
  }

  /** Every known peer, dead ones included until forgotten, ordered by node id. */
  peers(): PeerInfo[] {
    return this.table.list();
  }

  peer(nodeId: string): PeerInfo | undefined {
    return this.table.get(nodeId);
  }

  /** This node as its peers see it. */
  self(): PeerInfo {
    const c = this.config;
    return Object.freeze({
      nodeId: c.nodeId,
      name: c.nodeName,
      addrs: Object.freeze([...this.advertised.addrs]),
      state: 'alive',
      lastSeen: new Date(this.clock.wallNow()).toISOString(),
      incarnation: c.incarnation,
      roles: Object.freeze([...this.advertised.roles]),
      stores: Object.freeze([...this.advertised.stores]),
      truncated: this.advertisedTruncated,
      endpoint: this.transport?.endpoint ?? '',
    });
  }

  stats(): DiscoveryStats {
    return {
      beaconsSent: this.beaconsSent,
      beaconsReceived: this.beaconsReceived,
      probesSent: this.probesSent,
      acksReceived: this.acksReceived,
      sendErrors: this.sendErrors,
      dropped: this.drops.counters(),
    };
  }

  /** Beacons now (for example after the advertised stores changed) instead of at the next interval. */
  refresh(): void {
    if (this.lifecycle !== 'running') return;
    this.beaconRound();
    this.scheduleBeacon();
  }

  private async open(): Promise<void> {
    const c = this.config;
    const transport = new GossipTransport(
      { logger: this.logger },
      { bindAddress: c.bindAddress, port: c.port, groupMode: c.groupMode, group: c.group, ttl: c.ttl },
      (data, from) => this.onDatagram(data, from),
    );
    try {
      await transport.open();
    } catch (err) {
      this.lifecycle = 'stopped';
      throw err;
    }
    this.transport = transport;
    this.lifecycle = 'running';
    this.seedResolver.start();
    if (!this.keyring.hasSecret) {
      this.logger.warn(
        'gossip runs without a cluster secret: any process on this host can join; set GATER_CLUSTER_SECRET before ' +
          'gossip leaves loopback',
      );
    }
    this.logger.info(
      {
        endpoint: transport.endpoint,
        port: c.port,
        groupMode: c.groupMode,
        group: c.groupMode === 'none' ? undefined : c.group,
        seeds: c.seeds.map((seed) => formatEndpoint(seed.host, seed.port)),
        keyIds: this.keyring.keyIds(),
        incarnation: c.incarnation,
      },
      'gossip discovery started',
    );
    this.beaconRound();
    this.scheduleBeacon();
  }

  private async close(): Promise<void> {
    this.lifecycle = 'stopping';
    this.seedResolver.stop();
    clearTimeout(this.beaconTimer);
    clearTimeout(this.sweepTimer);
    this.beaconTimer = undefined;
    this.sweepTimer = undefined;
    const transport = this.transport;
    if (transport !== undefined) {
      const leaves = this.targets(false).map((target) => this.sendPacket('leave', target));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, LEAVE_SEND_TIMEOUT_MS);
        timer.unref();
      });
      await Promise.race([Promise.all(leaves), timeout]);
      clearTimeout(timer);
      await transport.close();
    }
    this.transport = undefined;
    this.table.clear();
    this.replay.clear();
    this.introduced.clear();
    this.lifecycle = 'stopped';
    this.logger.info('gossip discovery stopped');
  }

  private scheduleBeacon(): void {
    clearTimeout(this.beaconTimer);
    const jitter = (Math.random() * 2 - 1) * INTERVAL_JITTER_RATIO;
    this.beaconTimer = setTimeout(() => {
      this.beaconRound();
      this.scheduleBeacon();
    }, Math.round(this.config.intervalMs * (1 + jitter)));
    this.beaconTimer.unref();
  }

  /** Where a beacon goes: the group, the seeds, unicast-only peers and (unless leaving) hinted endpoints. */
  private targets(includeIntroduced: boolean): Target[] {
    const c = this.config;
    const now = this.clock.monotonicNow();
    const targets = new Map<string, Target>();
    if (c.groupMode !== 'none') targets.set('group', { group: true });
    // Every node may share one seed list; the entry naming this node itself is skipped.
    const self = this.transport?.endpoint;
    for (const seed of this.seedResolver.endpoints()) {
      const key = formatEndpoint(seed.host, seed.port);
      if (key !== self) targets.set(key, { group: false, ...seed });
    }
    const endpoints = this.table.unicastEndpoints(now, c.suspectAfterMs);
    if (includeIntroduced) {
      for (const [endpoint, expiresAt] of this.introduced) {
        if (now >= expiresAt) this.introduced.delete(endpoint);
        else endpoints.push(endpoint);
      }
    }
    for (const endpoint of endpoints) {
      const target = unicast(endpoint);
      if (target !== undefined) targets.set(endpoint, target);
    }
    return [...targets.values()];
  }

  private beaconRound(): void {
    this.seedResolver.refresh();
    this.readAdvertisement();
    for (const target of this.targets(true)) void this.sendPacket('beacon', target);
    const now = this.clock.monotonicNow();
    this.replies.prune(now);
    this.warnings.prune(now);
    this.replay.prune(now);
  }

  private readAdvertisement(): void {
    let raw: unknown;
    try {
      raw = this.config.advertise();
    } catch (err) {
      this.warnOnce('advertise threw', { err }, 'advertise() threw; beaconing what it returned last');
      return;
    }
    const checked = checkAdvertisement(raw);
    if (checked.problems.length > 0) {
      const problems = checked.problems;
      this.warnOnce('advertise invalid', { problems }, 'advertise() returned items gossip cannot carry');
    }
    this.advertised = checked.advertisement;
    this.advertisedTruncated = checked.truncated;
  }

  private async sendPacket(kind: MessageKindName, target: Target): Promise<void> {
    const transport = this.transport;
    if (transport === undefined) return;
    const c = this.config;
    const key = targetKey(target);
    this.sequence += 1;
    const payload: GossipPayload = {
      clusterName: c.clusterName,
      nodeId: c.nodeId,
      nodeName: c.nodeName,
      incarnation: c.incarnation,
      sequence: this.sequence,
      timestamp: this.clock.wallNow(),
      truncated: this.advertisedTruncated,
      toGroup: target.group,
      addrs: this.advertised.addrs,
      roles: this.advertised.roles,
      stores: this.advertised.stores,
      hints: kind === 'probe' || kind === 'ack' ? [] : this.hintsFor(target, key),
    };
    let datagram: Buffer;
    try {
      const sealed = this.codec.seal(MESSAGE_KIND[kind], payload);
      datagram = sealed.datagram;
      if (sealed.payload.truncated && !this.advertisedTruncated) {
        this.warnOnce('truncated', { stores: payload.stores.length }, 'advertisement trimmed to fit one datagram');
      }
    } catch (err) {
      this.warnOnce('seal', { err }, 'could not seal a gossip packet');
      return;
    }
    const err = target.group
      ? await transport.sendToGroup(datagram)
      : await transport.send(datagram, target.host, target.port);
    if (err === undefined) {
      this.beaconsSent += 1;
      if (kind === 'probe') this.probesSent += 1;
      return;
    }
    this.sendErrors += 1;
    this.warnOnce(`send ${key}`, { err, to: key, kind }, 'gossip send failed');
  }

  /**
   * Endpoints of our peers, for a node that may not know them: whoever we reach by unicast, unless it hears the
   * group (then it hears them too).
   */
  private hintsFor(target: Target, key: string): string[] {
    if (target.group) return [];
    if (this.table.hearsGroup(key, this.clock.monotonicNow(), this.config.suspectAfterMs)) return [];
    return this.table.hintEndpoints(key);
  }

  /** The socket handler: whatever the datagram holds, this never throws. */
  private onDatagram(data: Buffer, from: string): void {
    try {
      this.receive(data, from);
    } catch (err) {
      this.warnOnce('receive', { err, from }, 'unexpected failure handling a gossip packet');
    }
  }

  /** Checks a node id with `acceptsNodeId`, remembering the ids accepted (a check may cost microseconds). */
  private nodeIdAccepted(nodeId: string): boolean {
    if (this.acceptsNodeId === undefined || this.acceptedNodeIds.has(nodeId)) return true;
    if (!this.acceptsNodeId(nodeId)) return false;
    if (this.acceptedNodeIds.size >= ACCEPTED_NODE_IDS_MAX) this.acceptedNodeIds.clear();
    this.acceptedNodeIds.add(nodeId);
    return true;
  }

  private receive(data: Buffer, from: string): void {
    if (this.lifecycle !== 'running') return;
    const c = this.config;
    const now = this.clock.monotonicNow();
    const wallNow = this.clock.wallNow();
    const opened = this.codec.open(data);
    if (!opened.ok) {
      this.drops.record(opened.reason, opened.detail, from, now);
      return;
    }
    const p = opened.payload;
    if (p.nodeId === c.nodeId) {
      if (p.incarnation !== c.incarnation) {
        this.warnOnce('twin', { from, incarnation: p.incarnation }, 'another node gossips with this node id');
      }
      this.drops.record('self', 'own packet', from, now);
      return;
    }
    if (!this.nodeIdAccepted(p.nodeId)) {
      this.drops.record('malformed', `node id '${p.nodeId}' is not acceptable`, from, now);
      return;
    }
    if (Math.abs(wallNow - p.timestamp) > c.maxClockSkewMs) {
      this.drops.record('stale', `timestamp ${p.timestamp} is ${wallNow - p.timestamp} ms from ours`, from, now);
      return;
    }
    if (this.replay.admit(p.nodeId, p.incarnation, p.sequence, now) === 'replay') {
      this.drops.record('replay', `${p.nodeId} incarnation ${p.incarnation} sequence ${p.sequence}`, from, now);
      return;
    }
    this.beaconsReceived += 1;
    const kind = KIND_NAMES.get(opened.kind) ?? 'beacon';
    if (kind === 'ack') this.acksReceived += 1;
    if (this.logger.isLevelEnabled('trace')) {
      this.logger.trace({ from, kind, nodeId: p.nodeId, sequence: p.sequence }, 'gossip packet accepted');
    }
    this.introduced.delete(from);
    const { changes, fresh } = this.table.observe({ kind, payload: p, endpoint: from, now, wallNow });
    // A probe is answered every time: it passed the replay guard, so each ack answers one fresh probe of a member.
    if (kind === 'probe') {
      const target = unicast(from);
      if (target !== undefined) void this.sendPacket('ack', target);
    } else if (fresh && kind === 'beacon' && this.replies.allow(from, now)) {
      const target = unicast(from);
      if (target !== undefined) void this.sendPacket('reply', target);
    }
    this.learnHints(p.hints, now);
    this.notify(changes);
    this.armSweep();
  }

  private beaconNewSeeds(endpoints: readonly { host: string; port: number }[]): void {
    if (this.lifecycle !== 'running') return;
    const self = this.transport?.endpoint;
    for (const { host, port } of endpoints) {
      if (formatEndpoint(host, port) !== self) void this.sendPacket('beacon', { group: false, host, port });
    }
  }

  /** Beacons endpoints peers know and we do not, so that nodes sharing only a seed find each other. */
  private learnHints(hints: readonly string[], now: number): void {
    const self = this.transport?.endpoint;
    for (const hint of hints) {
      if (hint === self || this.introduced.has(hint) || this.table.hasEndpoint(hint) || !usableHint(hint)) continue;
      if (this.introduced.size >= MAX_INTRODUCED_ENDPOINTS) return;
      this.introduced.set(hint, now + this.config.deadAfterMs);
      const target = unicast(hint);
      if (target !== undefined && this.replies.allow(hint, now)) void this.sendPacket('beacon', target);
    }
  }

  /** Sets the sweep timer for the table's next deadline, unless it already fires no later than that. */
  private armSweep(): void {
    const deadline = this.table.nextDeadline();
    if (deadline === undefined || this.lifecycle !== 'running') return;
    // A timer firing early only sweeps nothing and re-arms; keeping it saves a clear and a set per packet.
    if (this.sweepTimer !== undefined && this.sweepAt <= deadline + 1) return;
    clearTimeout(this.sweepTimer);
    // One millisecond late rather than early: a sweep before the deadline would find nothing and spin.
    const delay = Math.max(0, Math.ceil(deadline - this.clock.monotonicNow()) + 1);
    this.sweepAt = this.clock.monotonicNow() + delay;
    this.sweepTimer = setTimeout(() => this.sweep(), delay);
    this.sweepTimer.unref();
  }

  private sweep(): void {
    this.sweepTimer = undefined;
    try {
      const now = this.clock.monotonicNow();
      // Timers run before the socket is read: after a stall, judging now would kill peers whose packets are waiting.
      const lateMs = now - this.sweepAt;
      if (lateMs > STALL_TOLERANCE_MS) {
        this.table.excuse(lateMs, now);
        this.warnOnce('stall', { lateMs }, 'this process was stalled; peers are not blamed for the silence it could not hear');
      }
      this.notify(this.table.sweep(now));
      for (const { nodeId, endpoint } of this.table.dueProbes(now)) {
        const target = unicast(endpoint);
        if (target === undefined) continue;
        if (this.logger.isLevelEnabled('trace')) {
          this.logger.trace({ peer: nodeId, to: endpoint }, 'probing a silent peer');
        }
        void this.sendPacket('probe', target);
      }
    } catch (err) {
      this.warnOnce('sweep', { err }, 'unexpected failure sweeping the peer table');
    }
    this.armSweep();
  }

  private notify(changes: readonly PeerChange[]): void {
    for (const { event, peer } of changes) {
      this.logger.debug({ event, peer: peer.nodeId, state: peer.state, incarnation: peer.incarnation }, 'peer change');
      try {
        this.emit(event, peer);
      } catch (err) {
        this.logger.error({ err, event, peer: peer.nodeId }, 'a discovery event listener threw');
      }
    }
  }

  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warnings.allow(key, this.clock.monotonicNow())) this.logger.warn(fields, message);
  }
}
