/**
 * A worker on another node, reached over the mesh RPC. Behaves like a local endpoint to the gateway; the remaining
 * deadline travels with every call.
 */
import type { RegistryView, WorkerEntry } from '../registry/index.ts';
import type { RpcPeers } from '../rpc/rpc-peers.ts';
import type { EventSubscription } from '../store/subscriptions/types.ts';
import type { StoreCall, StoreStreamCall } from '../worker/protocol.ts';
import type { WorkerInfo } from './gater-api.ts';
import type { EndpointCallContext, WorkerEndpoint } from './worker-endpoint.ts';

export class RemoteWorkerEndpoint implements WorkerEndpoint {
  readonly info: WorkerInfo;
  private readonly peers: RpcPeers;

  constructor(entry: WorkerEntry, peers: RpcPeers) {
    this.peers = peers;
    this.info = { store: entry.store, workerId: entry.workerId, nodeId: entry.nodeId, backend: entry.backend, local: false };
  }

  get inFlight(): number {
    return this.peers.inFlight(this.info.nodeId);
  }

  async call(call: StoreCall, context: EndpointCallContext): Promise<unknown> {
    const connection = await this.peers.connectionTo(this.info.nodeId);
    return connection.call(call, { timeoutMs: remaining(context), ...(context.signal ? { signal: context.signal } : {}) });
  }

  async open(call: StoreStreamCall, context: EndpointCallContext): Promise<EventSubscription> {
    const connection = await this.peers.connectionTo(this.info.nodeId);
    return connection.open(call, { timeoutMs: remaining(context), ...(context.signal ? { signal: context.signal } : {}) });
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

function remaining(context: EndpointCallContext): number {
  return Math.max(1, context.deadlineAt - Date.now());
}
