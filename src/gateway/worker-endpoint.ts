/**
 * How the gateway reaches a worker: in-process for a local worker, over the mesh for a remote one. Both behave the
 * same to the gateway, which is what lets every call work identically from every node.
 */
import type { EventSubscription } from '../store/subscriptions/types.ts';
import type { GatewayWorker } from '../worker/gateway-worker.ts';
import type { StoreCall, StoreStreamCall } from '../worker/protocol.ts';
import type { WorkerInfo } from './gater-api.ts';

export interface EndpointCallContext {
  /** Absolute deadline (ms since the epoch) the worker should respect. */
  deadlineAt: number;
  signal?: AbortSignal;
}

export interface WorkerEndpoint {
  readonly info: WorkerInfo;
  /** Calls under way through this endpoint, for least-in-flight balancing. */
  readonly inFlight: number;
  /**
   * True when `call` and `open` always settle by `context.deadlineAt` (rejecting with `timeout`), so the gateway need
   * not race them against a timer of its own. The gateway races every other endpoint.
   */
  readonly settlesByDeadline?: boolean;
  call(call: StoreCall, context: EndpointCallContext): Promise<unknown>;
  open(call: StoreStreamCall, context: EndpointCallContext): Promise<EventSubscription>;
}

export class LocalWorkerEndpoint implements WorkerEndpoint {
  readonly info: WorkerInfo;
  private readonly worker: GatewayWorker;

  constructor(worker: GatewayWorker, nodeId: string) {
    this.worker = worker;
    this.info = {
      store: worker.storeId,
      workerId: worker.workerId,
      nodeId,
      backend: worker.backend,
      local: true,
    };
  }

  get inFlight(): number {
    return this.worker.inFlight;
  }

  call(call: StoreCall, context: EndpointCallContext): Promise<unknown> {
    return this.worker.call(call, context);
  }

  open(call: StoreStreamCall): Promise<EventSubscription> {
    return this.worker.open(call);
  }
}
