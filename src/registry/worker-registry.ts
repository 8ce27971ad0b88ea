/**
 * The worker registry: which gateway workers serve which store, on which node. Each node is the single writer of its
 * own record (its workers, stamped with incarnation and version); records of other nodes arrive by replication and are
 * merged with `mergeRecords` (newer stamp wins). Readers get a view and change notifications; they never mutate it.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { compareStamps, mergeRecords, stampOf, type NodeRecord, type RecordStamp } from './node-record.ts';
import type { WorkerEntry } from './worker-entry.ts';

export type RegistryListener = () => void;

/**
 * Two or more nodes claim one store id that cannot be one store: at least one of them keeps it in its own files
 * (embedded), or they name different backends. Either way the id covers separate stores, and calls balanced over
 * them would read and write different data.
 */
export interface StoreConflict {
  store: string;
  nodeIds: string[];
}

export interface WorkerRegistryComponents {
  logger?: Logger;
  /** Monotonic milliseconds, for the age of purges. @default performance.now */
  now?: () => number;
}

export interface WorkerRegistryInit {
  /** Id of the node that owns this registry instance. */
  nodeId: string;
  /** This node's incarnation (grows on every start). @default 0 */
  incarnation?: number;
}

/** The read-only side of the registry, as the gateway sees it. */
export interface RegistryView {
  readonly nodeId: string;
  /** A store's workers. The list is never changed in place: a change of workers comes as a new list. */
  workersFor(store: string): readonly WorkerEntry[];
  /** Every store with at least one worker, sorted by id, each with its workers. */
  stores(): ReadonlyMap<string, readonly WorkerEntry[]>;
  entries(): readonly WorkerEntry[];
  /** Stores announced by more than one node where one of them is embedded or their backends differ. */
  conflicts(): readonly StoreConflict[];
  conflictFor(store: string): StoreConflict | undefined;
  onChange(listener: RegistryListener): () => void;
}

/** Backends whose store lives in one node's files; any other node announcing the same id, whatever its backend, is a
 * conflict. */
const EMBEDDED_BACKENDS: ReadonlySet<string> = new Set(['sqlite']);

export class WorkerRegistry implements RegistryView {
  readonly nodeId: string;
  private readonly logger: Logger;
  private readonly records = new Map<string, NodeRecord>();
  /**
   * nodeId → the incarnation at which it was purged (older or equal copies of its record are refused) and when. Kept
   * only while late copies may still come (see `expirePurges`), or every node that ever left would stay here.
   */
  private readonly purged = new Map<string, { incarnation: number; at: number }>();
  private readonly now: () => number;
  private readonly listeners = new Set<RegistryListener>();
  private readonly localListeners = new Set<(record: NodeRecord) => void>();
  private byStore = new Map<string, WorkerEntry[]>();
  private conflictList: StoreConflict[] = [];

  constructor(components: WorkerRegistryComponents, init: WorkerRegistryInit) {
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.now = components.now ?? (() => performance.now());
    this.nodeId = init.nodeId;
    this.records.set(this.nodeId, { nodeId: this.nodeId, incarnation: init.incarnation ?? 0, version: 0, entries: [] });
    this.reindex();
  }

  // ---- this node's own workers ---------------------------------------------------------------------------------

  /** Adds (or replaces, by workerId) one of this node's own workers. */
  registerLocal(entry: Omit<WorkerEntry, 'nodeId'>): void {
    const own = this.localRecord();
    const entries = own.entries.filter((e) => e.workerId !== entry.workerId);
    entries.push({ ...entry, nodeId: this.nodeId });
    this.updateLocal(entries);
    this.logger.info({ store: entry.store, workerId: entry.workerId }, 'worker registered');
  }

  unregisterLocal(workerId: string): void {
    const own = this.localRecord();
    const entries = own.entries.filter((e) => e.workerId !== workerId);
    if (entries.length === own.entries.length) return;
    this.updateLocal(entries);
    this.logger.info({ workerId }, 'worker unregistered');
  }

  localRecord(): NodeRecord {
    return this.records.get(this.nodeId)!;
  }

  /** Called with this node's new record after each local change, for replication. */
  onLocalChange(listener: (record: NodeRecord) => void): () => void {
    this.localListeners.add(listener);
    return () => this.localListeners.delete(listener);
  }

  // ---- replication ---------------------------------------------------------------------------------------------

  /** Merges a record received from the cluster; returns whether anything changed. */
  apply(record: NodeRecord): boolean {
    if (record.nodeId === this.nodeId) {
      if (compareStamps(record, this.localRecord()) > 0) {
        this.logger.error({ stamp: stampOf(record) }, 'another process announces this node id with a newer stamp');
      }
      return false;
    }
    const purgedAt = this.purged.get(record.nodeId)?.incarnation;
    if (purgedAt !== undefined) {
      if (record.incarnation <= purgedAt) return false;
      this.purged.delete(record.nodeId);
    }
    const current = this.records.get(record.nodeId);
    const merged = mergeRecords(current, normalise(record));
    if (merged === current) return false;
    this.records.set(record.nodeId, merged!);
    this.changed();
    return true;
  }

  /**
   * Forgets a node declared dead (or restarted): its workers leave the view, and copies of its record at or below
   * `incarnation` that other nodes may still send are refused. A later incarnation is accepted again.
   */
  purgeNode(nodeId: string, incarnation?: number): boolean {
    if (nodeId === this.nodeId) return false;
    const current = this.records.get(nodeId);
    const at = Math.max(incarnation ?? -1, current?.incarnation ?? -1, this.purged.get(nodeId)?.incarnation ?? -1);
    this.purged.set(nodeId, { incarnation: at, at: this.now() });
    if (current === undefined) return false;
    this.records.delete(nodeId);
    this.logger.info({ peer: nodeId, workers: current.entries.length }, 'purged the workers of a node that left');
    this.changed();
    return true;
  }

  /**
   * A node declared dead is alive after all (a healed partition, a false suspicion): its record, at the same
   * incarnation, is welcome again. Without this a node that never restarted would stay purged for good.
   */
  readmit(nodeId: string): void {
    this.purged.delete(nodeId);
  }

  /**
   * Forgets purges older than `ageMs`: by then every peer has given the node up too and no copy of its record is
   * still on its way, and one that comes anyway is held until discovery vouches for its node (RegistrySync), never
   * shown. Returns how many were forgotten.
   */
  expirePurges(ageMs: number): number {
    const before = this.now() - ageMs;
    let forgotten = 0;
    for (const [nodeId, purge] of this.purged) {
      if (purge.at > before) continue;
      this.purged.delete(nodeId);
      forgotten++;
    }
    return forgotten;
  }

  /** How many purged nodes are remembered (their late copies refused). */
  purgedCount(): number {
    return this.purged.size;
  }

  /** Whether `apply` would refuse `record` because its node was purged at or after its incarnation. */
  refuses(record: Pick<NodeRecord, 'nodeId' | 'incarnation'>): boolean {
    const purgedAt = this.purged.get(record.nodeId)?.incarnation;
    return purgedAt !== undefined && record.incarnation <= purgedAt;
  }

  /** Whether a record of `nodeId` is held. */
  has(nodeId: string): boolean {
    return this.records.has(nodeId);
  }

  /** Every record this node holds (its own included). */
  allRecords(): NodeRecord[] {
    return [...this.records.values()];
  }

  /** Stamps of every record held, for anti-entropy. */
  digest(): RecordStamp[] {
    return [...this.records.values()].map(stampOf);
  }

  /** Records this node holds that are newer than (or absent from) a peer's digest. */
  newerThan(digest: readonly RecordStamp[]): NodeRecord[] {
    const theirs = new Map(digest.map((s) => [s.nodeId, s]));
    return [...this.records.values()].filter((r) => {
      const t = theirs.get(r.nodeId);
      return t === undefined || compareStamps(r, t) > 0;
    });
  }

  /** Whether a peer's digest mentions records newer than the ones held here. */
  behind(digest: readonly RecordStamp[]): boolean {
    return digest.some((s) => {
      if (s.nodeId === this.nodeId) return false;
      const purgedAt = this.purged.get(s.nodeId)?.incarnation;
      if (purgedAt !== undefined && s.incarnation <= purgedAt) return false;
      const mine = this.records.get(s.nodeId);
      return mine === undefined || compareStamps(s, mine) > 0;
    });
  }

  // ---- the view ------------------------------------------------------------------------------------------------

  workersFor(store: string): readonly WorkerEntry[] {
    return this.byStore.get(store) ?? [];
  }

  stores(): ReadonlyMap<string, readonly WorkerEntry[]> {
    return this.byStore;
  }

  entries(): readonly WorkerEntry[] {
    return [...this.byStore.values()].flat();
  }

  conflicts(): readonly StoreConflict[] {
    return this.conflictList;
  }

  conflictFor(store: string): StoreConflict | undefined {
    return this.conflictList.find((c) => c.store === store);
  }

  onChange(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private updateLocal(entries: WorkerEntry[]): void {
    const own = this.localRecord();
    const record: NodeRecord = {
      nodeId: this.nodeId,
      incarnation: own.incarnation,
      version: own.version + 1,
      entries: entries.sort(byWorkerId),
    };
    this.records.set(this.nodeId, record);
    this.changed();
    for (const listener of this.localListeners) this.safely(() => listener(record));
  }

  private changed(): void {
    const previous = new Set(this.conflictList.map((c) => `${c.store}:${c.nodeIds.join(',')}`));
    this.reindex();
    for (const conflict of this.conflictList) {
      if (!previous.has(`${conflict.store}:${conflict.nodeIds.join(',')}`)) {
        const backends = [...new Set(this.workersFor(conflict.store).map((e) => `${e.nodeId}:${e.backend}`))];
        this.logger.error(
          { store: conflict.store, nodes: conflict.nodeIds, backends },
          'CONFLICT: a store is announced by several nodes that cannot share it (an embedded store, or different backends); calls to it are refused until one stops',
        );
      }
    }
    for (const listener of this.listeners) this.safely(listener);
  }

  private reindex(): void {
    const byStore = new Map<string, WorkerEntry[]>();
    for (const record of this.records.values()) {
      for (const entry of record.entries) {
        const list = byStore.get(entry.store);
        if (list) list.push(entry);
        else byStore.set(entry.store, [entry]);
      }
    }
    for (const list of byStore.values()) list.sort(byNodeThenWorker);
    this.byStore = new Map([...byStore.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const conflicts: StoreConflict[] = [];
    for (const [store, entries] of this.byStore) {
      const nodes = [...new Set(entries.map((e) => e.nodeId))].sort();
      if (nodes.length < 2) continue;
      // Every claimant counts, not only the embedded ones: one SQLite node and any number of PostgreSQL nodes are
      // two stores under one id just as two SQLite nodes are. Only nodes sharing one non-embedded backend agree.
      const backends = new Set(entries.map((e) => e.backend));
      if (backends.size > 1 || [...backends].some((b) => EMBEDDED_BACKENDS.has(b))) conflicts.push({ store, nodeIds: nodes });
    }
    this.conflictList = conflicts;
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err }, 'registry listener failed');
    }
  }
}

function byNodeThenWorker(a: WorkerEntry, b: WorkerEntry): number {
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : byWorkerId(a, b);
}

function byWorkerId(a: WorkerEntry, b: WorkerEntry): number {
  return a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0;
}

/** Entries of a record always carry the record's node id and a stable order. */
function normalise(record: NodeRecord): NodeRecord {
  return { ...record, entries: record.entries.map((e) => ({ ...e, nodeId: record.nodeId })).sort(byWorkerId) };
}
