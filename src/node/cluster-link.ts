/**
 * Joins this node to its cluster: discovery finds peers, the mesh connects to them, the registry is replicated over
 * the mesh, and calls are relayed to remote workers over per-peer RPC connections. This is wiring only: each part
 * lives in its own module and knows nothing of the others.
 *
 *   discovery peer:up/updated → mesh.connect, registry peerAlive     mesh peer:connected → registry full exchange
 *   discovery peer:down       → mesh.forget, registry purge, RPC connection dropped (pending calls fail at once)
 *   discovery's peer table    → registry membership: records of nodes it does not report alive are held, then dropped
 */
import type { PrivateKey } from '@libp2p/interface';
import type { Logger } from 'pino';
import type { GaterConfig } from '../config/index.ts';
import { ClusterMonitor, GossipDiscovery, resolveDiscoveryConfig, type DiscoveryInit, type PeerInfo } from '../discovery/index.ts';
import { Mesh, isPeerIdText } from '../mesh/index.ts';
import type { WorkerRegistry } from '../registry/index.ts';
import { RegistrySync, type RegistryTransport } from '../registry/index.ts';
import { RpcConnection, RpcPeers, streamChannel } from '../rpc/index.ts';
import type { LocalWorkers } from '../worker/local-workers.ts';

/** Gossipsub topic of the worker registry. */
export const REGISTRY_TOPIC = 'gater/registry/1';
/** Protocol of the registry's full exchange. */
export const REGISTRY_EXCHANGE_PROTOCOL = '/gater/registry/1.0.0';
/** Protocol of relayed store calls. */
export const RPC_PROTOCOL = '/gater/rpc/1.0.0';

/** The part of the configuration that joins a node to its cluster. */
export type ClusterSettings = Pick<
  GaterConfig,
  | 'clusterName'
  | 'clusterSecret'
  | 'clusterSecretPrevious'
  | 'gossipPort'
  | 'gossipAddr'
  | 'gossipIf'
  | 'broadcastOnly'
  | 'gossipMulticast'
  | 'seeds'
  | 'gossipIntervalMs'
  | 'meshPort'
  | 'meshHost'
  | 'nodeName'
>;

export interface ClusterLinkComponents {
  registry: WorkerRegistry;
  localWorkers: LocalWorkers;
  logger: Logger;
}

export interface ClusterLinkInit {
  settings: ClusterSettings;
  privateKey: PrivateKey;
  incarnation: number;
  /** The stores this node hosts, announced in beacons. */
  stores: readonly string[];
}

export class ClusterLink {
  readonly mesh: Mesh;
  readonly discovery: GossipDiscovery;
  readonly registrySync: RegistrySync;
  readonly rpcPeers: RpcPeers;
  readonly monitor: ClusterMonitor;
  private readonly logger: Logger;
  private readonly inbound = new Set<RpcConnection>();
  private readonly registry: WorkerRegistry;

  constructor(components: ClusterLinkComponents, init: ClusterLinkInit) {
    const { settings: s } = init;
    this.logger = components.logger;
    this.registry = components.registry;
    const secrets = { primary: s.clusterSecret, previous: [...s.clusterSecretPrevious] };
    this.mesh = new Mesh(
      { logger: components.logger.child({ component: 'mesh' }) },
      {
        privateKey: init.privateKey,
        listenHost: s.meshHost,
        port: s.meshPort,
        clusterSecrets: s.clusterSecret === undefined ? { previous: [...s.clusterSecretPrevious] } : secrets,
        clusterName: s.clusterName,
      },
    );
    const roles = init.stores.length > 0 ? ['store', 'gateway'] : ['gateway'];
    const broadcast = s.broadcastOnly;
    const discoveryInit: DiscoveryInit = {
      clusterName: s.clusterName,
      nodeId: this.mesh.peerId,
      nodeName: s.nodeName,
      incarnation: init.incarnation,
      ...(s.clusterSecret === undefined ? {} : { secrets }),
      port: s.gossipPort,
      bindAddress: s.gossipIf,
      group: s.gossipAddr,
      broadcastOnly: broadcast,
      multicast: s.gossipMulticast,
      seeds: s.seeds,
      intervalMs: s.gossipIntervalMs,
      advertise: () => ({ addrs: announcedAddrs(this.mesh.addrs(), s.gossipIf), roles, stores: [...init.stores] }),
    };
    this.discovery = new GossipDiscovery(
      // Node ids are peer ids: a packet naming anything else (a forged or foreign sender) never reaches the mesh.
      { logger: components.logger.child({ component: 'discovery' }), acceptsNodeId: isPeerIdText },
      discoveryInit,
    );
    // The registry believes what discovery reports alive, holds a record of a node it does not hear for as long as
    // discovery would take to declare a silent node dead, and remembers a purge as long as discovery remembers the dead.
    const windows = resolveDiscoveryConfig(discoveryInit);
    this.monitor = new ClusterMonitor({ logger: components.logger.child({ component: 'cluster' }) }, { discovery: this.discovery });
    this.registrySync = new RegistrySync(
      {
        registry: components.registry,
        transport: this.registryTransport(),
        logger: components.logger.child({ component: 'registry' }),
        membership: { liveIncarnation: (nodeId) => this.liveIncarnation(nodeId) },
      },
      { unconfirmedGraceMs: windows.deadAfterMs, purgeMemoryMs: windows.forgetAfterMs },
    );
    this.rpcPeers = new RpcPeers({
      dial: async (peerId, signal) => streamChannel(await this.mesh.dialProtocol(peerId, RPC_PROTOCOL, { signal })),
      logger: components.logger.child({ component: 'rpc' }),
    });
    const handler = {
      // The caller's deadline and cancellation reach the worker: an append still waiting for its batch when the
      // caller gives up (its Cancel follows the call on this stream) is not written. The signal is made only when
      // read, which appends do and other calls do not.
      call: (call: Parameters<LocalWorkers['call']>[0], served: { timeoutMs: number; readonly signal: AbortSignal }) =>
        components.localWorkers.call(call, {
          deadlineAt: Date.now() + served.timeoutMs,
          get signal() {
            return served.signal;
          },
        }),
      open: (call: Parameters<LocalWorkers['open']>[0]) => components.localWorkers.open(call),
    };
    void this.mesh.handle(RPC_PROTOCOL, (stream, from) => {
      const connection = new RpcConnection(
        { channel: streamChannel(stream), handler, logger: components.logger.child({ component: 'rpc' }) },
        { peer: from },
      );
      this.inbound.add(connection);
      connection.onClose(() => this.inbound.delete(connection));
    });
  }

  async start(): Promise<void> {
    this.discovery.on('peer:up', (peer) => this.peerSeen(peer));
    this.discovery.on('peer:updated', (peer) => this.peerSeen(peer));
    this.discovery.on('peer:down', (peer) => this.peerGone(peer));
    this.monitor.start();
    this.mesh.on('peer:connected', (peerId) => void this.registrySync.exchangeWith(peerId));
    this.mesh.on('peer:disconnected', (peerId) => this.rpcPeers.drop(peerId));
    await this.mesh.start();
    this.registrySync.start();
    await this.discovery.start();
  }

  async stop(): Promise<void> {
    this.monitor.stop();
    await this.discovery.stop().catch((err: unknown) => this.logger.error({ err }, 'stopping discovery failed'));
    this.registrySync.stop();
    this.rpcPeers.closeAll();
    for (const connection of this.inbound) connection.close();
    await this.mesh.stop().catch((err: unknown) => this.logger.error({ err }, 'stopping the mesh failed'));
  }

  /** Peers as discovery sees them, for /v1/cluster and `gater status`. */
  peers(): PeerInfo[] {
    return this.discovery.peers();
  }

  private peerSeen(peer: PeerInfo): void {
    if (peer.state !== 'alive') return;
    // Alive again after being declared dead (a healed partition): accept its record again and exchange at once.
    this.registry.readmit(peer.nodeId);
    this.registrySync.peerAlive(peer.nodeId);
    if (peer.addrs.length > 0) this.mesh.connect(peer.nodeId, peer.addrs);
    if (this.mesh.isConnected(peer.nodeId)) void this.registrySync.exchangeWith(peer.nodeId);
  }

  private peerGone(peer: PeerInfo): void {
    this.mesh.forget(peer.nodeId).catch((err: unknown) => this.logger.warn({ err, nodeId: peer.nodeId }, 'forgetting a peer failed'));
    this.rpcPeers.drop(peer.nodeId);
    this.registrySync.peerDead(peer.nodeId, peer.incarnation);
  }

  private liveIncarnation(nodeId: string): number | undefined {
    const peer = this.discovery.peer(nodeId);
    return peer === undefined || peer.state === 'dead' ? undefined : peer.incarnation;
  }

  private registryTransport(): RegistryTransport {
    return {
      publish: async (bytes) => {
        await this.mesh.publish(REGISTRY_TOPIC, bytes);
      },
      onMessage: (handler) => this.mesh.subscribe(REGISTRY_TOPIC, handler),
      request: (peerId, bytes, signal) => this.mesh.request(peerId, REGISTRY_EXCHANGE_PROTOCOL, bytes, { signal }),
      onRequest: (handler) => {
        void this.mesh.handleRequests(REGISTRY_EXCHANGE_PROTOCOL, handler);
        return () => void this.mesh.unhandle(REGISTRY_EXCHANGE_PROTOCOL);
      },
    };
  }
}

/**
 * The mesh addresses worth announcing: a mesh listening on every interface lists loopback too, which peers on other
 * hosts would dial in vain (and first); keep it only when gossip itself is on loopback or nothing else exists.
 */
export function announcedAddrs(addrs: readonly string[], gossipIf: string): string[] {
  if (gossipIf.startsWith('127.')) return [...addrs];
  const routable = addrs.filter((a) => !a.startsWith('/ip4/127.') && !a.startsWith('/ip6/::1/'));
  return routable.length > 0 ? routable : [...addrs];
}
