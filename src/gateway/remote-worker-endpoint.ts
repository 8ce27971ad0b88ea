/**
 * A worker on another node, reached over the mesh RPC. Behaves like a local endpoint to the gateway; the remaining
 * deadline travels with every call, and the RPC connection enforces it, so these endpoints settle by the deadline
 * without a timer of the gateway's.
 */
import { TimeoutError } from '../errors/index.ts';
import type { RegistryView, WorkerEntry } from '../registry/index.ts';
import type { RpcConnection } from '../rpc/rpc-connection.ts';
import type { RpcPeers } from '../rpc/rpc-peers.ts';
import type { EventSubscription } from '../store/subscriptions/types.ts';
import type { StoreCall, StoreStreamCall } from '../worker/protocol.ts';
import { raceDeadline } from './deadline.ts';
import type { WorkerInfo } from './gater-api.ts';
import type { EndpointCallContext, WorkerEndpoint } from './worker-endpoint.ts';

export class RemoteWorkerEndpoint implements WorkerEndpoint {
  readonly info: WorkerInfo;
  readonly settlesByDeadline = true;
  private readonly peers: RpcPeers;

  constructor(entry: WorkerEntry, peers: RpcPeers) {
    this.peers = peers;
    this.info = { store: entry.store, workerId: entry.workerId, nodeId: entry.nodeId, backend: entry.backend, local: false };
  }

  get inFlight(): number {
    return this.peers.inFlight(this.info.nodeId);
  }

  call(call: StoreCall, context: EndpointCallContext): Promise<unknown> {
    const open = this.peers.openConnection(this.info.nodeId);
    if (open !== undefined) return open.call(call, callOptions(context));
    return this.connect(context).then((connection) => connection.call(call, callOptions(context)));
  }

  open(call: StoreStreamCall, context: EndpointCallContext): Promise<EventSubscription> {
    const open = this.peers.openConnection(this.info.nodeId);
    if (open !== undefined) return open.open(call, callOptions(context));
    return this.connect(context).then((connection) => connection.open(call, callOptions(context)));
  }

  /** Dials the peer, within the call's deadline (a dial has its own, possibly longer, limit). */
  private connect(context: EndpointCallContext): Promise<RpcConnection> {
    const nodeId = this.info.nodeId;
    const budgetMs = Math.max(0, context.deadlineAt - Date.now());
    return raceDeadline(this.peers.connectionTo(nodeId), context.deadlineAt, () => new TimeoutError(`reaching node ${nodeId}`, budgetMs));
  }
}

/** Builds remote endpoints for the registry directory, one per worker entry, reused across calls. */
export function remoteEndpointFactory(peers: RpcPeers, registry: RegistryView): (entry: WorkerEntry) => WorkerEndpoint {
  const cache = new Map<string, RemoteWorkerEndpoint>();
  registry.onChange(() => {
    const live = new Set(registry.entries().map((e) => e.workerId));
    for (const workerId of cache.keys()) if (!live.has(workerId)) cache.delete(workerId);
  });
  return (entry) => {
    let endpoint = cache.get(entry.workerId);
    if (endpoint === undefined || endpoint.info.nodeId !== entry.nodeId) {
      endpoint = new RemoteWorkerEndpoint(entry, peers);
      cache.set(entry.workerId, endpoint);
    }
    return endpoint;
  };
}

function callOptions(context: EndpointCallContext): { timeoutMs: number; signal?: AbortSignal } {
  const timeoutMs = Math.max(1, context.deadlineAt - Date.now());
  return context.signal === undefined ? { timeoutMs } : { timeoutMs, signal: context.signal };
}
