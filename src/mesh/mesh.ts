/**
 * The libp2p node of a gater process: TCP, a private network keyed by the cluster secrets, noise, yamux, identify,
 * ping and gossipsub. It dials the peers it is told about, keeps them connected, and offers pubsub and streams.
 * It knows nothing of stores, the registry or discovery; the composition root wires them.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, StrictSign, type GossipSub } from '@libp2p/gossipsub';
import { identify, type Identify } from '@libp2p/identify';
import type { Connection, MultiaddrConnection, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { ping, type Ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import type { Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { GaterError, InvalidArgumentError, UnavailableError } from '../errors/index.ts';
import { silentLogger } from '../log/index.ts';
import { announceAddr, dialableAddrs, listenAddr, tcpPort } from './addresses.ts';
import { deriveClusterKeys, type ClusterKey, type ClusterSecrets } from './cluster-keys.ts';
import { createNoiseCrypto } from './noise-crypto.ts';
import {
  CONNECTION_PING_INTERVAL_MS,
  DEFAULT_MESH_LISTEN_HOST,
  DEFAULT_MESH_PORT,
  DIAL_TIMEOUT_MS,
  GOSSIP_HEARTBEAT_INTERVAL_MS,
  INBOUND_CONNECTION_THRESHOLD_PER_S,
  INBOUND_UPGRADE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  MAX_FORGOTTEN_PEERS,
  MAX_CONCURRENT_REQUESTS_PER_PEER,
  MAX_INCOMING_PENDING_CONNECTIONS,
  MAX_REQUEST_BYTES,
  MAX_RESPONSE_BYTES,
  MAX_STREAMS_PER_PROTOCOL,
  REDIAL_INITIAL_DELAY_MS,
  REDIAL_MAX_DELAY_MS,
  SOCKET_INACTIVITY_TIMEOUT_MS,
  STREAM_INACTIVITY_TIMEOUT_MS,
} from './constants.ts';
import { InboundLimiter } from './inbound-limiter.ts';
import { KeyringProtector, type KeyRefusal } from './keyring-protector.ts';
import { PeerDialer } from './peer-dialer.ts';
import { answer, exchange } from './unary.ts';
import { installHalfWindowUpdates } from './yamux-window.ts';

export interface MeshComponents {
  logger?: Logger;
}

export interface MeshInit {
  /** The node's identity (see `loadOrCreatePeerKey`); its peer id is the node id. */
  privateKey: PrivateKey;
  /** IP address to listen on. @default '0.0.0.0' */
  listenHost?: string;
  /** TCP port (`GATER_MESH_PORT`); 0 picks a free one, 45893 is the conventional fixed port. @default 0 */
  port?: number;
  /**
   * Hosts (IP addresses or DNS names) peers should dial to reach this node, announced with the bound port.
   * @default every address of the listening interfaces
   */
  announceHosts?: readonly string[];
  /**
   * The cluster secrets: two nodes connect if and only if they share one (see `keyring-protector.ts` and the
   * rotation procedure in README.md). With none at all the mesh runs without a private network, which the
   * configuration allows only on loopback.
   */
  clusterSecrets: ClusterSecrets;
  /** Cluster name, bound into every derived key so two clusters sharing a secret still stay apart. */
  clusterName: string;
  /** First redial delay, before jitter. @default 100 */
  redialInitialDelayMs?: number;
  /** Ceiling of the redial delay. @default 5000 */
  redialMaxDelayMs?: number;
  /** Deadline of one dial attempt. @default 5000 */
  dialTimeoutMs?: number;
}

export interface MeshConnectionInfo {
  peerId: string;
  /** `outbound` when this node dialed. */
  direction: 'inbound' | 'outbound';
  remoteAddr: string;
  /** When it opened, ms since the epoch. */
  openedAt: number;
}

export interface MeshEvents {
  /** The first connection to a peer opened (whichever side dialed). */
  'peer:connected': [peerId: string];
  /** The last connection to a peer closed. */
  'peer:disconnected': [peerId: string];
}

/** Handles a stream a peer opened on a protocol; the handler owns the stream (closes or aborts it). */
export type MeshStreamHandler = (stream: Stream, fromPeerId: string) => void | Promise<void>;
/** Receives a pubsub message; `fromPeerId` is the author, proven by its signature (not the peer that relayed it). */
export type MeshMessageHandler = (data: Uint8Array, fromPeerId: string) => void;
/** Answers one unary request. */
export type MeshRequestHandler = (request: Uint8Array, fromPeerId: string) => Promise<Uint8Array> | Uint8Array;

export interface MeshHandleOptions {
  /** Concurrent inbound streams of this protocol per connection. @default 1024 */
  maxInboundStreams?: number;
  /** Concurrent outbound streams of this protocol per connection. @default 1024 */
  maxOutboundStreams?: number;
}

interface MeshServices extends Record<string, unknown> {
  identify: Identify;
  ping: Ping;
  pubsub: GossipSub;
}

/**
 * Why this node refused an inbound connection: its address had too many upgrading (`per_host`, see
 * inbound-limiter.ts), it came from a peer declared dead (`forgotten`), or key selection refused it (KeyRefusal).
 */
export type MeshRefusal = 'per_host' | 'forgotten' | KeyRefusal;

export interface MeshStats {
  /** Inbound connections refused since start, by reason. */
  inboundRefused: Readonly<Record<MeshRefusal, number>>;
  /** Inbound connections upgrading now (counted against their address). */
  inboundUpgrading: number;
}

/** How long a handler waits for a unary request to arrive in full. */
const REQUEST_READ_TIMEOUT_MS = 30_000;

export class Mesh extends EventEmitter<MeshEvents> {
  /** This node's peer id: the node id of the cluster. */
  readonly peerId: string;
  private readonly logger: Logger;
  private readonly privateKey: PrivateKey;
  private readonly listenHost: string;
  private readonly port: number;
  private readonly announceHosts: readonly string[] | undefined;
  private readonly keys: readonly ClusterKey[];
  private readonly dialTimeoutMs: number;
  private readonly dialer: PeerDialer;
  private readonly handlers = new Map<string, { handler: MeshStreamHandler; options: MeshHandleOptions }>();
  private readonly topics = new Map<string, Set<MeshMessageHandler>>();
  /** Peers declared dead, refused until wanted again; insertion order is age, for eviction. */
  private readonly forgotten = new Set<string>();
  private readonly inboundRefused: Record<MeshRefusal, number> = {
    per_host: 0,
    forgotten: 0,
    no_preamble: 0,
    no_shared_key: 0,
    offer_timeout: 0,
    hung_up: 0,
  };
  private node: Libp2p<MeshServices> | undefined;
  /** The running node's limiter of inbound upgrades. */
  private inbound: InboundLimiter | undefined;
  /** Serialises start and stop. */
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(components: MeshComponents, init: MeshInit) {
    super();
    validateInit(init);
    this.privateKey = init.privateKey;
    this.peerId = peerIdFromPrivateKey(init.privateKey).toString();
    this.logger = components.logger ?? silentLogger();
    this.listenHost = init.listenHost ?? DEFAULT_MESH_LISTEN_HOST;
    this.port = init.port ?? DEFAULT_MESH_PORT;
    listenAddr(this.listenHost, this.port); // validates the host now rather than at start
    this.announceHosts = init.announceHosts;
    this.keys = deriveClusterKeys(init.clusterSecrets, init.clusterName);
    this.dialTimeoutMs = init.dialTimeoutMs ?? DIAL_TIMEOUT_MS;
    this.dialer = new PeerDialer(
      { logger: this.logger },
      {
        localPeerId: this.peerId,
        dial: (peerId, addrs, signal) => this.dialAddrs(peerId, addrs, signal),
        isConnected: (peerId) => this.isConnected(peerId),
        redialInitialDelayMs: init.redialInitialDelayMs ?? REDIAL_INITIAL_DELAY_MS,
        redialMaxDelayMs: init.redialMaxDelayMs ?? REDIAL_MAX_DELAY_MS,
        dialTimeoutMs: this.dialTimeoutMs,
      },
    );
  }

  /** Listens, registers handlers and subscriptions, and dials every wanted peer. Idempotent. */
  start(): Promise<void> {
    return this.enqueue(() => this.startNow());
  }

  /** Hangs up on every peer, stops listening and cancels every redial. Idempotent; the mesh can start again. */
  stop(): Promise<void> {
    return this.enqueue(() => this.stopNow());
  }

  get started(): boolean {
    return this.node !== undefined;
  }

  /** Whether connections go through the private network (false only for a node with no cluster secret). */
  get isPrivate(): boolean {
    return this.keys.length > 0;
  }

  /** The addresses peers should dial, each ending in `/p2p/<peerId>`; empty until started. */
  addrs(): string[] {
    const node = this.node;
    if (node === undefined) return [];
    const bound = node.getMultiaddrs();
    if (this.announceHosts === undefined) return bound.map(String);
    const port = tcpPort(bound);
    if (port === undefined) return [];
    return this.announceHosts.map((host) => announceAddr(host, port, this.peerId));
  }

  /**
   * Wants a connection to `peerId`, reachable at `addrs` (as discovery reported them). The side whose peer id sorts
   * first dials, the other waits; the dialing side keeps redialing with backoff while the peer is wanted. Calling it
   * again for a peer that is not connected (discovery heard from it: `peer:updated`) dials at once; new addresses
   * also restart the backoff. Undoes `forget`.
   */
  connect(peerId: string, addrs: readonly string[]): void {
    parsePeerId(peerId);
    if (peerId === this.peerId) return;
    this.forgotten.delete(peerId);
    const dialable = dialableAddrs(peerId, addrs);
    if (dialable.rejected.length > 0) this.logger.warn({ peerId, rejected: dialable.rejected }, 'ignoring peer addresses');
    this.dialer.want(peerId, dialable.addrs);
  }

  /**
   * Stops wanting `peerId` (discovery declared it dead): cancels redials, hangs up, and refuses its connections
   * until `connect` wants it again.
   */
  async forget(peerId: string): Promise<void> {
    const id = parsePeerId(peerId);
    this.dialer.forget(peerId);
    this.forgotten.delete(peerId);
    this.forgotten.add(peerId);
    if (this.forgotten.size > MAX_FORGOTTEN_PEERS) this.forgotten.delete(this.forgotten.values().next().value!);
    const node = this.node;
    if (node === undefined || node.getConnections(id).length === 0) return;
    this.logger.info({ peerId }, 'hanging up on a forgotten peer');
    try {
      await node.hangUp(id);
    } catch (err) {
      this.logger.warn({ err, peerId }, 'hang-up failed');
    }
  }

  /**
   * One dial attempt now, whichever side would normally dial, without wanting the peer (no redial). For tools and
   * tests; `connect` is how the node keeps its mesh. Rejects with `unavailable` (or the signal's reason) when no
   * connection results.
   */
  async dial(peerId: string, addrs: readonly string[], options: { signal?: AbortSignal } = {}): Promise<void> {
    parsePeerId(peerId);
    const dialable = dialableAddrs(peerId, addrs);
    if (dialable.addrs.length === 0) throw new InvalidArgumentError('addrs', 'no dialable address');
    const timeout = AbortSignal.timeout(this.dialTimeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    await this.dialAddrs(peerId, dialable.addrs, signal);
  }

  /**
   * Closes every connection to `peerId` now, without forgetting it: if the peer is still wanted, the dialing side
   * redials. For resetting a connection a protocol found broken.
   */
  async hangUp(peerId: string): Promise<void> {
    const id = parsePeerId(peerId);
    await this.node?.hangUp(id);
  }

  /** The open connections, one line each, for status pages and tests. */
  connections(): MeshConnectionInfo[] {
    return (this.node?.getConnections() ?? [])
      .filter((c) => c.status === 'open')
      .map((c) => ({
        peerId: c.remotePeer.toString(),
        direction: c.direction,
        remoteAddr: c.remoteAddr.toString(),
        openedAt: c.timeline.open,
      }));
  }

  /** Counters of inbound refusals since this mesh was made, and the upgrades in progress (for metrics). */
  stats(): MeshStats {
    return { inboundRefused: { ...this.inboundRefused }, inboundUpgrading: this.inbound?.size ?? 0 };
  }

  /** Peers with at least one open connection. */
  connectedPeers(): string[] {
    return this.node?.getPeers().map(String) ?? [];
  }

  isConnected(peerId: string): boolean {
    const node = this.node;
    if (node === undefined) return false;
    return node.getConnections(parsePeerId(peerId)).some((c) => c.status === 'open');
  }

  /** Whether `peerId` is wanted (connected or redialed). */
  isWanted(peerId: string): boolean {
    return this.dialer.isWanted(peerId);
  }

  /** Publishes to every peer subscribed to `topic` (flood publish); resolves with how many peers it was sent to. */
  async publish(topic: string, data: Uint8Array): Promise<number> {
    const node = this.requireStarted();
    try {
      const result = await node.services.pubsub.publish(topic, data);
      return result.recipients.length;
    } catch (err) {
      throw new UnavailableError(`publish on '${topic}' failed: ${errorMessage(err)}`, { topic }, { cause: err });
    }
  }

  /**
   * Delivers every message published on `topic` by another node to `handler`. Returns the function that removes this
   * handler (the topic is left when its last handler goes). Subscriptions made before `start` apply from it.
   */
  subscribe(topic: string, handler: MeshMessageHandler): () => void {
    let handlers = this.topics.get(topic);
    if (handlers === undefined) {
      handlers = new Set();
      this.topics.set(topic, handlers);
      this.node?.services.pubsub.subscribe(topic);
    }
    const entry: MeshMessageHandler = (data, from) => handler(data, from);
    handlers.add(entry);
    return () => {
      const current = this.topics.get(topic);
      if (current === undefined || !current.delete(entry) || current.size > 0) return;
      this.topics.delete(topic);
      this.node?.services.pubsub.unsubscribe(topic);
    };
  }

  /** Peers known to be subscribed to `topic`. */
  topicPeers(topic: string): string[] {
    return this.node?.services.pubsub.getSubscribers(topic).map(String) ?? [];
  }

  /**
   * Handles streams peers open on `protocol`. A handler that throws has its stream aborted. Handlers registered
   * before `start` apply from it; registering a protocol again replaces its handler.
   */
  async handle(protocol: string, handler: MeshStreamHandler, options: MeshHandleOptions = {}): Promise<void> {
    this.handlers.set(protocol, { handler, options });
    const node = this.node;
    if (node !== undefined) await this.register(node, protocol, handler, options);
  }

  async unhandle(protocol: string): Promise<void> {
    if (!this.handlers.delete(protocol)) return;
    await this.node?.unhandle(protocol);
  }

  /**
   * Opens a stream on `protocol` over the open connection to `peerId`. Never dials: a peer that is not connected is
   * `unavailable` at once, so callers fail over instead of waiting. The caller owns the stream.
   */
  async dialProtocol(peerId: string, protocol: string, options: { signal?: AbortSignal } = {}): Promise<Stream> {
    const node = this.requireStarted();
    const connection = node.getConnections(parsePeerId(peerId)).find((c) => c.status === 'open');
    if (connection === undefined) throw new UnavailableError(`not connected to peer ${peerId}`, { peerId });
    try {
      return await connection.newStream(protocol, {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL,
      });
    } catch (err) {
      if (options.signal?.aborted === true) throw options.signal.reason;
      const message = `cannot open ${protocol} to ${peerId}: ${errorMessage(err)}`;
      throw new UnavailableError(message, { peerId, protocol }, { cause: err });
    }
  }

  /**
   * One request and its response over a fresh stream (see `unary.ts`): for occasional exchanges such as the
   * registry's full sync. Rejects with `unavailable` when the peer is not connected or fails to answer.
   */
  async request(
    peerId: string,
    protocol: string,
    data: Uint8Array,
    options: { signal?: AbortSignal; maxResponseBytes?: number } = {},
  ): Promise<Uint8Array> {
    const stream = await this.dialProtocol(peerId, protocol, options);
    return exchange(stream, data, options.maxResponseBytes ?? MAX_RESPONSE_BYTES, options.signal);
  }

  /**
   * Answers unary requests on `protocol` with `handler`; a handler that throws resets the stream. At most 32 requests
   * per peer are read at once, each at most `maxRequestBytes`, which bounds what one peer can make this node buffer.
   */
  handleRequests(protocol: string, handler: MeshRequestHandler, options: { maxRequestBytes?: number } = {}): Promise<void> {
    const answerOptions = {
      maxRequestBytes: options.maxRequestBytes ?? MAX_REQUEST_BYTES,
      readTimeoutMs: REQUEST_READ_TIMEOUT_MS,
      logger: this.logger,
    };
    return this.handle(protocol, (stream, from) => answer(stream, from, handler, answerOptions), {
      maxInboundStreams: MAX_CONCURRENT_REQUESTS_PER_PEER,
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.lifecycle.catch(() => {}).then(step);
    this.lifecycle = next;
    return next;
  }

  private async startNow(): Promise<void> {
    if (this.node !== undefined) return;
    if (this.keys.length === 0) this.logger.warn('the mesh runs without a private network: no cluster secret is set');
    const node = await this.createNode();
    node.addEventListener('peer:connect', (evt) => this.onPeerConnected(evt.detail));
    node.addEventListener('peer:disconnect', (evt) => this.onPeerDisconnected(evt.detail));
    node.services.pubsub.addEventListener('message', (evt) => {
      const msg = evt.detail;
      if (msg.type === 'signed') this.deliver(msg.topic, msg.data, msg.from.toString());
    });
    try {
      for (const [protocol, { handler, options }] of this.handlers) await this.register(node, protocol, handler, options);
      await node.start();
    } catch (err) {
      await Promise.resolve(node.stop()).catch(() => {});
      const message = `the mesh cannot start on ${this.listenHost}:${this.port}: ${errorMessage(err)}`;
      throw new UnavailableError(message, {}, { cause: err });
    }
    for (const topic of this.topics.keys()) node.services.pubsub.subscribe(topic);
    this.node = node;
    this.dialer.start();
    this.logger.info({ addrs: this.addrs(), private: this.isPrivate, keys: this.keys.length }, 'mesh started');
  }

  private async stopNow(): Promise<void> {
    const node = this.node;
    if (node === undefined) return;
    this.dialer.stop();
    await node.stop();
    this.node = undefined;
    this.inbound = undefined;
    this.logger.info('mesh stopped');
  }

  private createNode(): Promise<Libp2p<MeshServices>> {
    installHalfWindowUpdates();
    const keys = this.keys;
    const logger = this.logger;
    // One per libp2p node: connections of a stopped node close into their own limiter, never a restarted one's.
    const refused = this.inboundRefused;
    const inbound = new InboundLimiter({
      onRefused: (host, remoteAddr) => {
        refused.per_host++;
        logger.debug({ host, remoteAddr: remoteAddr.toString() }, 'inbound connection refused: too many from its address');
      },
    });
    this.inbound = inbound;
    return createLibp2p<MeshServices>({
      start: false,
      privateKey: this.privateKey,
      addresses: { listen: [listenAddr(this.listenHost, this.port)] },
      transports: [
        tcp({
          inboundSocketInactivityTimeout: SOCKET_INACTIVITY_TIMEOUT_MS,
          outboundSocketInactivityTimeout: SOCKET_INACTIVITY_TIMEOUT_MS,
        }),
      ],
      ...(keys.length === 0
        ? {}
        : {
            connectionProtector: () =>
              new KeyringProtector({
                keys,
                onKeySelected: (keyId, direction) => logger.trace({ keyId, direction }, 'mesh key selected'),
                onInboundRefused: (reason) => refused[reason]++,
              }),
          }),
      connectionEncrypters: [noise({ crypto: createNoiseCrypto() })],
      streamMuxers: [
        yamux({
          maxInboundStreams: MAX_STREAMS_PER_PROTOCOL * 4,
          maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL * 4,
          streamOptions: { inactivityTimeout: STREAM_INACTIVITY_TIMEOUT_MS },
        }),
      ],
      connectionGater: {
        // A host gets its share of the upgrade slots, not all of them (see inbound-limiter.ts).
        denyInboundConnection: (maConn: MultiaddrConnection) => !inbound.admit(maConn),
        // Identity is known only once noise completes; a forgotten peer is refused until wanted again.
        denyInboundEncryptedConnection: (peer: PeerId) => {
          const deny = this.forgotten.has(peer.toString());
          if (deny) refused.forgotten++;
          return deny;
        },
        // The last step of an inbound upgrade: it no longer counts against its address.
        denyInboundUpgradedConnection: (_peer: PeerId, maConn: MultiaddrConnection) => {
          inbound.release(maConn);
          return false;
        },
      },
      connectionManager: {
        maxConnections: MAX_CONNECTIONS,
        maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS,
        inboundConnectionThreshold: INBOUND_CONNECTION_THRESHOLD_PER_S,
        dialTimeout: this.dialTimeoutMs,
        inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
      },
      connectionMonitor: { pingInterval: CONNECTION_PING_INTERVAL_MS },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          globalSignaturePolicy: StrictSign,
          // Every node is a gater node; no floodsub peers to fall back to.
          fallbackToFloodsub: false,
          floodPublish: true,
          allowPublishToZeroTopicPeers: true,
          emitSelf: false,
          heartbeatInterval: GOSSIP_HEARTBEAT_INTERVAL_MS,
          // Members are admitted by the secret: scoring against colocated sybils would only penalise a loopback or
          // single-host cluster, where every peer shares one address.
          scoreParams: { IPColocationFactorWeight: 0 },
          maxInboundStreams: MAX_STREAMS_PER_PROTOCOL,
          maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL,
        }),
      },
    });
  }

  private async register(
    node: Libp2p<MeshServices>,
    protocol: string,
    handler: MeshStreamHandler,
    options: MeshHandleOptions,
  ): Promise<void> {
    await node.handle(
      protocol,
      (stream: Stream, connection: Connection) => this.runHandler(protocol, handler, stream, connection),
      {
        maxInboundStreams: options.maxInboundStreams ?? MAX_STREAMS_PER_PROTOCOL,
        maxOutboundStreams: options.maxOutboundStreams ?? MAX_STREAMS_PER_PROTOCOL,
        force: true,
      },
    );
  }

  private async runHandler(
    protocol: string,
    handler: MeshStreamHandler,
    stream: Stream,
    connection: Connection,
  ): Promise<void> {
    const from = connection.remotePeer.toString();
    try {
      await handler(stream, from);
    } catch (err) {
      this.logger.warn({ err, peerId: from, protocol }, 'stream handler failed');
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async dialAddrs(peerId: string, addrs: readonly Multiaddr[], signal: AbortSignal): Promise<void> {
    const node = this.requireStarted();
    try {
      await node.dial([...addrs], { signal });
    } catch (err) {
      // Cancelled by the caller (or by `forget`): the caller's reason. Timed out or refused: unavailable.
      const timedOut = signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError';
      if (signal.aborted && !timedOut) throw signal.reason;
      throw new UnavailableError(`cannot connect to ${peerId}: ${errorMessage(err)}`, { peerId }, { cause: err });
    }
  }

  private deliver(topic: string, data: Uint8Array, from: string): void {
    const handlers = this.topics.get(topic);
    if (handlers === undefined) return;
    for (const handler of handlers) {
      try {
        handler(data, from);
      } catch (err) {
        this.logger.error({ err, topic, peerId: from }, 'pubsub handler failed');
      }
    }
  }

  private onPeerConnected(peer: PeerId): void {
    const peerId = peer.toString();
    this.logger.debug({ remotePeerId: peerId }, 'peer connected');
    this.dialer.onConnected(peerId);
    this.emit('peer:connected', peerId);
  }

  private onPeerDisconnected(peer: PeerId): void {
    const peerId = peer.toString();
    this.logger.debug({ remotePeerId: peerId }, 'peer disconnected');
    this.dialer.onDisconnected(peerId);
    this.emit('peer:disconnected', peerId);
  }

  private requireStarted(): Libp2p<MeshServices> {
    if (this.node === undefined) throw new UnavailableError('the mesh is not started');
    return this.node;
  }
}

function validateInit(init: MeshInit): void {
  if (typeof init.clusterName !== 'string' || init.clusterName.length === 0) {
    throw new InvalidArgumentError('clusterName', 'must be a non-empty string');
  }
  const port = init.port ?? DEFAULT_MESH_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('port', 'must be an integer in 0..65535');
  }
  init.announceHosts?.forEach((host, i) => {
    if (typeof host !== 'string' || host.length === 0 || /[\s/]/.test(host)) {
      throw new InvalidArgumentError(`announceHosts[${i}]`, 'must be an IP address or a host name');
    }
  });
}

/** Whether `text` is a libp2p peer id (what node ids are in a full node). */
export function isPeerIdText(text: string): boolean {
  try {
    peerIdFromString(text);
    return true;
  } catch {
    return false;
  }
}

function parsePeerId(peerId: string): PeerId {
  try {
    return peerIdFromString(peerId);
  } catch (err) {
    throw new GaterError('invalid_argument', `'${peerId}' is not a peer id`, { field: 'peerId' }, { cause: err });
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
