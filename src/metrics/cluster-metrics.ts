/**
 * Cluster metrics: gossip discovery, the mesh and the registry. Their components keep plain counters (they know
 * nothing of Prometheus); a collector hands a snapshot here before each scrape and the counters advance by the
 * difference since the last one.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ClusterSnapshot {
  beaconsSent: number;
  beaconsReceived: number;
  /** Direct probes sent to silent peers, and their acknowledgements received. */
  probesSent: number;
  acksReceived: number;
  /** Datagrams dropped, by reason (bad_auth, replay, malformed, …). */
  dropped: Record<string, number>;
  /** Peers by state (alive, suspect, dead). */
  peers: Record<string, number>;
  meshConnections: number;
  /** Inbound mesh connections refused, by reason (per_host, forgotten, no_shared_key, …). */
  meshInboundRefused: Readonly<Record<string, number>>;
  /** Inbound mesh connections upgrading now. */
  meshInboundUpgrading: number;
  registryWorkers: number;
  registryConflicts: number;
  registryMessagesDropped: number;
  /** Registry records held out of the view because discovery does not report their node alive. */
  registryRecordsHeld: number;
  /** Held records dropped: their node was not confirmed alive within the grace period, or was of a past life. */
  registryUnconfirmedDropped: number;
}

export class ClusterMetrics {
  /** `gater_gossip_beacons_sent_total`: gossip datagrams sent. */
  private readonly sent: Counter;
  /** `gater_gossip_beacons_received_total`: gossip datagrams accepted. */
  private readonly received: Counter;
  /** `gater_gossip_probes_sent_total`: direct probes sent to peers that went silent. */
  private readonly probes: Counter;
  /** `gater_gossip_probe_acks_total`: acknowledgements of those probes. */
  private readonly acks: Counter;
  /** `gater_gossip_dropped_total{reason}`: gossip datagrams dropped, by reason. */
  private readonly dropped: Counter<'reason'>;
  /** `gater_cluster_peers{state}`: peers in the table, by state. */
  private readonly peers: Gauge<'state'>;
  /** `gater_mesh_connections`: peers with an open mesh connection. */
  private readonly meshConnections: Gauge;
  /** `gater_mesh_inbound_refused_total{reason}`: inbound mesh connections refused, by reason. */
  private readonly meshRefused: Counter<'reason'>;
  /** `gater_mesh_inbound_upgrading`: inbound mesh connections upgrading now. */
  private readonly meshUpgrading: Gauge;
  /** `gater_registry_workers`: workers in the replicated registry, all nodes. */
  private readonly registryWorkers: Gauge;
  /** `gater_registry_conflicts`: stores announced as different stores (embedded on several nodes, or mixed backends). */
  private readonly registryConflicts: Gauge;
  /** `gater_registry_messages_dropped_total`: malformed or forged registry messages. */
  private readonly registryDropped: Counter;
  /** `gater_registry_records_held`: records held out of the view until discovery reports their node alive. */
  private readonly registryHeld: Gauge;
  /** `gater_registry_unconfirmed_dropped_total`: held records dropped unconfirmed. */
  private readonly registryUnconfirmedDropped: Counter;
  private last: ClusterSnapshot | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.sent = new Counter({ name: 'gater_gossip_beacons_sent_total', help: 'Gossip datagrams sent.', registers });
    this.received = new Counter({ name: 'gater_gossip_beacons_received_total', help: 'Gossip datagrams accepted.', registers });
    this.probes = new Counter({ name: 'gater_gossip_probes_sent_total', help: 'Direct probes sent to silent peers.', registers });
    this.acks = new Counter({ name: 'gater_gossip_probe_acks_total', help: 'Acknowledgements of direct probes.', registers });
    this.dropped = new Counter({
      name: 'gater_gossip_dropped_total',
      help: 'Gossip datagrams dropped, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.peers = new Gauge({ name: 'gater_cluster_peers', help: 'Peers known to discovery, by state.', labelNames: ['state'], registers });
    this.meshConnections = new Gauge({ name: 'gater_mesh_connections', help: 'Peers with an open mesh connection.', registers });
    this.meshRefused = new Counter({
      name: 'gater_mesh_inbound_refused_total',
      help: 'Inbound mesh connections refused, by reason: per_host (too many upgrading from one address), forgotten (a peer declared dead), no_preamble, no_shared_key, offer_timeout, hung_up (key selection).',
      labelNames: ['reason'],
      registers,
    });
    this.meshUpgrading = new Gauge({
      name: 'gater_mesh_inbound_upgrading',
      help: 'Inbound mesh connections upgrading now (key selection, private network, noise).',
      registers,
    });
    this.registryWorkers = new Gauge({ name: 'gater_registry_workers', help: 'Workers in the replicated registry.', registers });
    this.registryConflicts = new Gauge({
      name: 'gater_registry_conflicts',
      help: 'Stores announced as different stores: embedded on several nodes, or with different backends (calls to them are refused).',
      registers,
    });
    this.registryDropped = new Counter({
      name: 'gater_registry_messages_dropped_total',
      help: 'Registry messages dropped as malformed or forged.',
      registers,
    });
    this.registryHeld = new Gauge({
      name: 'gater_registry_records_held',
      help: 'Registry records held out of the view until discovery reports their node alive.',
      registers,
    });
    this.registryUnconfirmedDropped = new Counter({
      name: 'gater_registry_unconfirmed_dropped_total',
      help: 'Held registry records dropped because discovery did not confirm their node alive in time, or they were of a past life of it.',
      registers,
    });
  }

  observe(now: ClusterSnapshot): void {
    const before = this.last;
    this.sent.inc(delta(now.beaconsSent, before?.beaconsSent));
    this.received.inc(delta(now.beaconsReceived, before?.beaconsReceived));
    this.probes.inc(delta(now.probesSent, before?.probesSent));
    this.acks.inc(delta(now.acksReceived, before?.acksReceived));
    for (const [reason, count] of Object.entries(now.dropped)) this.dropped.inc({ reason }, delta(count, before?.dropped[reason]));
    this.registryDropped.inc(delta(now.registryMessagesDropped, before?.registryMessagesDropped));
    for (const [reason, count] of Object.entries(now.meshInboundRefused)) {
      this.meshRefused.inc({ reason }, delta(count, before?.meshInboundRefused[reason]));
    }
    this.meshUpgrading.set(now.meshInboundUpgrading);
    this.registryHeld.set(now.registryRecordsHeld);
    this.registryUnconfirmedDropped.inc(delta(now.registryUnconfirmedDropped, before?.registryUnconfirmedDropped));
    for (const state of ['alive', 'suspect', 'dead']) this.peers.set({ state }, now.peers[state] ?? 0);
    this.meshConnections.set(now.meshConnections);
    this.registryWorkers.set(now.registryWorkers);
    this.registryConflicts.set(now.registryConflicts);
    this.last = now;
  }
}

function delta(now: number, before: number | undefined): number {
  return Math.max(0, now - (before ?? 0));
}
