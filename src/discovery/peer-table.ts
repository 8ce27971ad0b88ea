/**
 * The peer table: what this node knows of every other, and the membership rules that turn accepted packets and the
 * passing of time into `peer:up`, `peer:down` and `peer:updated`. No I/O and no timers: the caller feeds it packets
 * that already passed authentication and the replay guard, and calls `sweep` at `nextDeadline()`.
 *
 * Peers silent for `probeAfterMs` are due probes (`dueProbes`): the caller sends them, and whatever the peer answers
 * is observed like any other packet, which ends its silence.
 *
 * Incarnations order the lives of a node: a packet of a higher incarnation is a restarted node, which replaces its
 * old self (`peer:down` for the old life unless it was already dead, then `peer:up`). A node wrongly thought suspect
 * or dead refutes it simply by being heard again.
 */
import { MAX_HINTS } from './constants.ts';
import { nextProbeAt, nextTransitionAt, stateAt, type MembershipWindows } from './failure-detector.ts';
import type { GossipPayload } from './payload-codec.ts';
import type { DiscoveryEventName, PeerInfo, PeerState } from './types.ts';
import type { MessageKindName } from './wire-format.ts';

export interface Observation {
  readonly kind: MessageKindName;
  readonly payload: GossipPayload;
  /** `ip:port` the packet came from. */
  readonly endpoint: string;
  /** Monotonic milliseconds. */
  readonly now: number;
  /** Unix milliseconds, for `lastSeen`. */
  readonly wallNow: number;
}

export interface PeerChange {
  readonly event: DiscoveryEventName;
  readonly peer: PeerInfo;
}

export interface ObserveResult {
  readonly changes: readonly PeerChange[];
  /** The peer is new to us, restarted, or back from suspect or dead: it may not know us yet, answer it promptly. */
  readonly fresh: boolean;
}

interface PeerRecord {
  readonly nodeId: string;
  name: string;
  addrs: readonly string[];
  roles: readonly string[];
  stores: readonly string[];
  truncated: boolean;
  incarnation: number;
  endpoint: string;
  /** When a packet last came from `endpoint`. */
  endpointHeard: number;
  state: PeerState;
  /** It announced its leave: dead until heard again. */
  left: boolean;
  lastHeard: number;
  lastHeardWall: number;
  /** When a packet it sent to the group last reached us; undefined if none ever did. */
  lastHeardViaGroup: number | undefined;
  /** When we last probed it since it was last heard; undefined if not yet. */
  probedAt: number | undefined;
}

/** A probe to send: to whom, and where. */
export interface ProbeTarget {
  readonly nodeId: string;
  readonly endpoint: string;
}

const NOTHING: ObserveResult = Object.freeze({ changes: Object.freeze([]), fresh: false });

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

export class PeerTable {
  private readonly windows: MembershipWindows;
  private readonly records = new Map<string, PeerRecord>();

  constructor(windows: MembershipWindows) {
    this.windows = windows;
  }

  /** Applies an accepted packet. */
  observe(o: Observation): ObserveResult {
    const p = o.payload;
    const known = this.records.get(p.nodeId);
    if (known === undefined) {
      // A leave from a node we never knew tells us nothing worth remembering.
      if (o.kind === 'leave') return NOTHING;
      const record = this.create(o);
      return { changes: [{ event: 'peer:up', peer: info(record) }], fresh: true };
    }
    if (p.incarnation < known.incarnation) return NOTHING;
    if (p.incarnation > known.incarnation) {
      const changes: PeerChange[] = [];
      if (known.state !== 'dead') changes.push({ event: 'peer:down', peer: info({ ...known, state: 'dead' }) });
      const record = this.create(o);
      if (o.kind === 'leave') {
        record.state = 'dead';
        record.left = true;
        return { changes, fresh: false };
      }
      changes.push({ event: 'peer:up', peer: info(record) });
      return { changes, fresh: true };
    }

    const before = known.state;
    known.lastHeard = o.now;
    known.lastHeardWall = o.wallNow;
    known.probedAt = undefined;
    if (p.toGroup) known.lastHeardViaGroup = o.now;
    const changed = this.assign(known, o);
    if (o.kind === 'leave') {
      known.left = true;
      known.state = 'dead';
      return before === 'dead' ? NOTHING : { changes: [{ event: 'peer:down', peer: info(known) }], fresh: false };
    }
    known.left = false;
    known.state = 'alive';
    if (before === 'dead') return { changes: [{ event: 'peer:up', peer: info(known) }], fresh: true };
    if (before === 'suspect') return { changes: [{ event: 'peer:updated', peer: info(known) }], fresh: true };
    return changed ? { changes: [{ event: 'peer:updated', peer: info(known) }], fresh: false } : NOTHING;
  }

  /**
   * Credits every live peer with `ms` of silence this node could not hear through (see STALL_TOLERANCE_MS): their
   * packets of that time wait unread, so the silence says nothing of them. Dead peers stay dead until heard.
   */
  excuse(ms: number, now: number): void {
    for (const record of this.records.values()) {
      if (record.state === 'dead') continue;
      record.lastHeard = Math.min(now, record.lastHeard + ms);
      if (record.probedAt !== undefined) record.probedAt = Math.min(now, record.probedAt + ms);
    }
  }

  /** Moves silent peers to suspect and dead, and forgets long-dead ones. */
  sweep(now: number): PeerChange[] {
    const changes: PeerChange[] = [];
    for (const [nodeId, record] of this.records) {
      const verdict = stateAt(record.lastHeard, record.left, now, this.windows);
      if (verdict === 'forgotten') {
        this.records.delete(nodeId);
        continue;
      }
      if (verdict === record.state) continue;
      record.state = verdict;
      changes.push({ event: verdict === 'dead' ? 'peer:down' : 'peer:updated', peer: info(record) });
    }
    return changes;
  }

  /**
   * The live peers due a probe at `now`, recorded as probed then: silent for `probeAfterMs`, or `probeIntervalMs`
   * after their previous probe. Call after `sweep`, so that a peer dying at `now` is not probed in vain.
   */
  dueProbes(now: number): ProbeTarget[] {
    const due: ProbeTarget[] = [];
    for (const record of this.records.values()) {
      if (!worthProbing(record) || now < nextProbeAt(record.lastHeard, record.probedAt, this.windows)) continue;
      record.probedAt = now;
      due.push({ nodeId: record.nodeId, endpoint: record.endpoint });
    }
    return due;
  }

  /** When `sweep` or `dueProbes` next has something to do; undefined for an empty table. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const record of this.records.values()) {
      let at = nextTransitionAt(record.lastHeard, record.state, this.windows);
      if (worthProbing(record)) at = Math.min(at, nextProbeAt(record.lastHeard, record.probedAt, this.windows));
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /** Every known peer, dead ones included until forgotten, ordered by node id. */
  list(): PeerInfo[] {
    return [...this.records.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)).map(info);
  }

  get(nodeId: string): PeerInfo | undefined {
    const record = this.records.get(nodeId);
    return record === undefined ? undefined : info(record);
  }

  hasEndpoint(endpoint: string): boolean {
    for (const record of this.records.values()) {
      if (record.endpoint === endpoint && record.state !== 'dead') return true;
    }
    return false;
  }

  /**
   * Endpoints of live peers whose group traffic has not reached us for `windowMs`: we assume ours does not reach them
   * either, so they need our beacons by unicast, or they would find us silent.
   */
  unicastEndpoints(now: number, windowMs: number): string[] {
    const endpoints: string[] = [];
    for (const record of this.records.values()) {
      if (record.state === 'dead') continue;
      if (record.lastHeardViaGroup !== undefined && now - record.lastHeardViaGroup < windowMs) continue;
      endpoints.push(record.endpoint);
    }
    return endpoints;
  }

  /** Whether a live peer at `endpoint` has reached us by group within `windowMs`: it hears the group as we do. */
  hearsGroup(endpoint: string, now: number, windowMs: number): boolean {
    for (const record of this.records.values()) {
      if (record.endpoint !== endpoint || record.lastHeardViaGroup === undefined) continue;
      if (now - record.lastHeardViaGroup < windowMs) return true;
    }
    return false;
  }

  /** Endpoints of alive peers, most recently heard first, for the hints of a packet sent to `excluding`. */
  hintEndpoints(excluding: string): string[] {
    return [...this.records.values()]
      .filter((record) => record.state === 'alive' && record.endpoint !== excluding)
      .sort((a, b) => b.lastHeard - a.lastHeard)
      .slice(0, MAX_HINTS)
      .map((record) => record.endpoint);
  }

  get size(): number {
    return this.records.size;
  }

  clear(): void {
    this.records.clear();
  }

  private create(o: Observation): PeerRecord {
    const p = o.payload;
    const record: PeerRecord = {
      nodeId: p.nodeId,
      name: p.nodeName,
      addrs: p.addrs,
      roles: p.roles,
      stores: p.stores,
      truncated: p.truncated,
      incarnation: p.incarnation,
      endpoint: o.endpoint,
      endpointHeard: o.now,
      state: 'alive',
      left: false,
      lastHeard: o.now,
      lastHeardWall: o.wallNow,
      lastHeardViaGroup: p.toGroup ? o.now : undefined,
      probedAt: undefined,
    };
    this.records.set(p.nodeId, record);
    return record;
  }

  /**
   * Where a known peer is after packet `o`. The source address of a datagram is not authenticated: a host that
   * received one of the node's unicast packets (a seed it beacons to) can replay it from elsewhere, and the packet
   * passes the replay guard if this node had not seen it. That host must not become the node's address, flapping it
   * with every replay. So a new address is taken from a packet the node sent to the group (it came from where the
   * node is), or once nothing has come from the known address for `probeAfterMs` (the node really moved); a restarted
   * node (a new incarnation) starts a new record anyway.
   */
  private endpointAfter(record: PeerRecord, o: Observation): string {
    if (o.endpoint === record.endpoint || o.payload.toGroup || o.now - record.endpointHeard >= this.windows.probeAfterMs) {
      record.endpointHeard = o.now;
      return o.endpoint;
    }
    return record.endpoint;
  }

  /** Copies what the packet says into the record; whether anything a peer event shows changed. */
  private assign(record: PeerRecord, o: Observation): boolean {
    const p = o.payload;
    const endpoint = this.endpointAfter(record, o);
    const changed =
      record.name !== p.nodeName ||
      record.endpoint !== endpoint ||
      record.truncated !== p.truncated ||
      !sameList(record.addrs, p.addrs) ||
      !sameList(record.roles, p.roles) ||
      !sameList(record.stores, p.stores);
    record.name = p.nodeName;
    record.endpoint = endpoint;
    record.truncated = p.truncated;
    record.addrs = p.addrs;
    record.roles = p.roles;
    record.stores = p.stores;
    return changed;
  }
}


function worthProbing(record: PeerRecord): boolean {
  return record.state !== 'dead' && !record.left;
}

function info(record: PeerRecord): PeerInfo {
  return Object.freeze({
    nodeId: record.nodeId,
    name: record.name,
    addrs: Object.freeze([...record.addrs]),
    state: record.state,
    lastSeen: new Date(record.lastHeardWall).toISOString(),
    incarnation: record.incarnation,
    roles: Object.freeze([...record.roles]),
    stores: Object.freeze([...record.stores]),
    truncated: record.truncated,
    endpoint: record.endpoint,
  });
}
