/**
 * Logs the cluster's comings and goings, in the spirit of the seed's ClusterMonitor: a line when a node joins, when it
 * leaves or dies, and when a known node is suspected or recovers. It only listens to discovery's events.
 */
import type { Logger } from 'pino';
import type { DiscoveryEvents, PeerInfo } from './types.ts';

/** What the monitor needs of discovery: its events and the current table. */
export interface PeerEvents {
  on<K extends keyof DiscoveryEvents>(event: K, listener: (...args: DiscoveryEvents[K]) => void): unknown;
  off<K extends keyof DiscoveryEvents>(event: K, listener: (...args: DiscoveryEvents[K]) => void): unknown;
  peers(): PeerInfo[];
}

export interface ClusterMonitorInit {
  readonly discovery: PeerEvents;
}

function fields(peer: PeerInfo): Record<string, unknown> {
  return { peer: peer.nodeId, name: peer.name, endpoint: peer.endpoint, incarnation: peer.incarnation };
}

export class ClusterMonitor {
  private readonly logger: Logger;
  private readonly discovery: PeerEvents;
  /**
   * The last state of each live peer, to tell a suspected peer heard again from other updates. A peer leaves it when
   * it dies: discovery's next event about it is always `peer:up`, which needs no history, so keeping dead peers would
   * only grow the map with every node that ever came and went.
   */
  private readonly states = new Map<string, PeerInfo['state']>();
  private started = false;

  constructor(components: { logger: Logger }, init: ClusterMonitorInit) {
    this.logger = components.logger;
    this.discovery = init.discovery;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.discovery.on('peer:up', this.onUp);
    this.discovery.on('peer:down', this.onDown);
    this.discovery.on('peer:updated', this.onUpdated);
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.discovery.off('peer:up', this.onUp);
    this.discovery.off('peer:down', this.onDown);
    this.discovery.off('peer:updated', this.onUpdated);
    this.states.clear();
  }

  private readonly onUp = (peer: PeerInfo): void => {
    this.states.set(peer.nodeId, peer.state);
    this.logger.info({ ...fields(peer), addrs: peer.addrs, stores: peer.stores }, 'node joined the cluster');
    this.logSize();
  };

  private readonly onDown = (peer: PeerInfo): void => {
    this.states.delete(peer.nodeId);
    this.logger.warn({ ...fields(peer), lastSeen: peer.lastSeen }, 'node left the cluster');
    this.logSize();
  };

  private readonly onUpdated = (peer: PeerInfo): void => {
    const before = this.states.get(peer.nodeId);
    this.states.set(peer.nodeId, peer.state);
    if (peer.state === 'suspect' && before !== 'suspect') {
      this.logger.warn({ ...fields(peer), lastSeen: peer.lastSeen }, 'node suspected: not heard lately');
    } else if (peer.state === 'alive' && before === 'suspect') {
      this.logger.info(fields(peer), 'suspected node heard again');
    }
  };

  /** Peers whose state is kept: the live ones discovery knows. */
  trackedPeers(): number {
    return this.states.size;
  }

  private logSize(): void {
    const peers = this.discovery.peers();
    const alive = peers.filter((peer) => peer.state !== 'dead').length;
    this.logger.info({ peers: alive }, `cluster has ${alive + 1} live node(s)`);
    // A peer discovery forgot without a `peer:down` (its table does so silently) goes too.
    const known = new Set(peers.map((peer) => peer.nodeId));
    for (const nodeId of this.states.keys()) if (!known.has(nodeId)) this.states.delete(nodeId);
  }
}
