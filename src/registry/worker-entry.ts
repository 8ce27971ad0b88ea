import type { StoreBackendName } from '../store/event-store.ts';

/** One gateway worker as the cluster knows it. */
export interface WorkerEntry {
  store: string;
  workerId: string;
  /** The node the worker runs on. */
  nodeId: string;
  /** Where that node can be reached on the mesh. */
  addrs: string[];
  backend: StoreBackendName;
  /** ISO-8601 UTC. */
  startedAt: string;
}
