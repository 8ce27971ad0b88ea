/**
 * The gateway's view of where workers are: registry entries turned into endpoints it can call. Local workers are
 * called in-process; remote ones through an endpoint factory the composition root supplies (the mesh RPC).
 */
import type { RegistryView, StoreConflict, WorkerEntry } from '../registry/index.ts';
import type { StoreSummary } from './gater-api.ts';
import type { WorkerEndpoint } from './worker-endpoint.ts';

export interface WorkerDirectory {
  endpointsFor(store: string): readonly WorkerEndpoint[];
  /** The nodes that claim the store as different stores (embedded on several, or mixed backends), if any. */
  conflictFor(store: string): StoreConflict | undefined;
  summaries(): StoreSummary[];
}

export type RemoteEndpointFactory = (entry: WorkerEntry) => WorkerEndpoint | undefined;

export interface RegistryDirectoryComponents {
  registry: RegistryView;
  /** Endpoints of this node's own workers, by worker id. */
  localEndpoints: ReadonlyMap<string, WorkerEndpoint>;
  /** Builds an endpoint for another node's worker; absent while the node has no mesh. */
  remoteEndpoint?: RemoteEndpointFactory;
}

export class RegistryDirectory implements WorkerDirectory {
  private readonly components: RegistryDirectoryComponents;
  /**
   * Endpoints by the registry's list of a store's workers. The registry replaces a list whenever it changes, so a
   * list it still returns has the same endpoints: every call skips rebuilding them.
   */
  private readonly resolved = new WeakMap<readonly WorkerEntry[], WorkerEndpoint[]>();

  constructor(components: RegistryDirectoryComponents) {
    this.components = components;
  }

  endpointsFor(store: string): readonly WorkerEndpoint[] {
    const entries = this.components.registry.workersFor(store);
    const known = this.resolved.get(entries);
    if (known !== undefined) return known;
    const out: WorkerEndpoint[] = [];
    for (const entry of entries) {
      const endpoint = this.endpointFor(entry);
      if (endpoint !== undefined) out.push(endpoint);
    }
    // Kept only when every entry has its endpoint (one may appear later: a mesh still starting).
    if (out.length === entries.length) this.resolved.set(entries, out);
    return out;
  }

  conflictFor(store: string): StoreConflict | undefined {
    return this.components.registry.conflictFor(store);
  }

  summaries(): StoreSummary[] {
    const { registry } = this.components;
    return [...registry.stores()].map(([store, entries]) => ({
      store,
      workers: entries.map((e) => ({
        store: e.store,
        workerId: e.workerId,
        nodeId: e.nodeId,
        backend: e.backend,
        local: e.nodeId === registry.nodeId,
      })),
    }));
  }

  private endpointFor(entry: WorkerEntry): WorkerEndpoint | undefined {
    if (entry.nodeId === this.components.registry.nodeId) return this.components.localEndpoints.get(entry.workerId);
    return this.components.remoteEndpoint?.(entry);
  }
}
