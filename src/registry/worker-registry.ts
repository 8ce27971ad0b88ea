/**
 * The worker registry: which gateway workers serve which store, on which node. This node writes only its own
 * entries; entries of other nodes arrive by replication (the mesh layer feeds them in with `replaceNodeEntries`).
 * Readers get a view and change notifications; they never mutate it.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { WorkerEntry } from './worker-entry.ts';

export type RegistryListener = () => void;

export interface WorkerRegistryComponents {
  logger?: Logger;
}

export interface WorkerRegistryInit {
  /** Id of the node that owns this registry instance. */
  nodeId: string;
}

/** The read-only side of the registry, as the gateway sees it. */
export interface RegistryView {
  readonly nodeId: string;
  workersFor(store: string): readonly WorkerEntry[];
  /** Every store with at least one worker, sorted by id, each with its workers. */
  stores(): ReadonlyMap<string, readonly WorkerEntry[]>;
  entries(): readonly WorkerEntry[];
  onChange(listener: RegistryListener): () => void;
}

export class WorkerRegistry implements RegistryView {
  readonly nodeId: string;
  private readonly logger: Logger;
  /** nodeId → that node's entries. */
  private readonly byNode = new Map<string, WorkerEntry[]>();
  private readonly listeners = new Set<RegistryListener>();

  constructor(components: WorkerRegistryComponents, init: WorkerRegistryInit) {
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.nodeId = init.nodeId;
  }

  /** Adds (or replaces, by workerId) one of this node's own workers. */
  registerLocal(entry: Omit<WorkerEntry, 'nodeId'>): void {
    const own = (this.byNode.get(this.nodeId) ?? []).filter((e) => e.workerId !== entry.workerId);
    own.push({ ...entry, nodeId: this.nodeId });
    this.byNode.set(this.nodeId, own);
    this.logger.info({ store: entry.store, workerId: entry.workerId }, 'worker registered');
    this.changed();
  }

  unregisterLocal(workerId: string): void {
    const own = this.byNode.get(this.nodeId) ?? [];
    const rest = own.filter((e) => e.workerId !== workerId);
    if (rest.length === own.length) return;
    this.byNode.set(this.nodeId, rest);
    this.logger.info({ workerId }, 'worker unregistered');
    this.changed();
  }

  localEntries(): readonly WorkerEntry[] {
    return this.byNode.get(this.nodeId) ?? [];
  }

  /** Replaces everything known about another node (replication); an empty list removes the node. */
  replaceNodeEntries(nodeId: string, entries: readonly WorkerEntry[]): void {
    if (nodeId === this.nodeId) throw new Error('a node never accepts replicated entries for itself');
    if (entries.length === 0) this.byNode.delete(nodeId);
    else this.byNode.set(nodeId, entries.map((e) => ({ ...e, nodeId })));
    this.changed();
  }

  workersFor(store: string): readonly WorkerEntry[] {
    const out: WorkerEntry[] = [];
    for (const entries of this.byNode.values()) for (const e of entries) if (e.store === store) out.push(e);
    return out;
  }

  stores(): ReadonlyMap<string, readonly WorkerEntry[]> {
    const map = new Map<string, WorkerEntry[]>();
    for (const e of this.entries()) {
      const list = map.get(e.store);
      if (list) list.push(e);
      else map.set(e.store, [e]);
    }
    return new Map([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  entries(): readonly WorkerEntry[] {
    return [...this.byNode.values()].flat();
  }

  onChange(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ err }, 'registry listener failed');
      }
    }
  }
}
