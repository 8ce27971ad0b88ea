/**
 * This node's workers, by store: what the node serves to calls relayed from its peers. A call for a store this node
 * no longer serves fails with `unavailable` and `delivered: false`, so the caller may try another worker.
 */
import { UnavailableError } from '../errors/index.ts';
import type { EventSubscription } from '../store/subscriptions/types.ts';
import type { GatewayWorker, WorkerCallContext } from './gateway-worker.ts';
import type { StoreCall, StoreStreamCall } from './protocol.ts';

export class LocalWorkers {
  private readonly byStore = new Map<string, GatewayWorker[]>();

  add(worker: GatewayWorker): void {
    const list = this.byStore.get(worker.storeId) ?? [];
    list.push(worker);
    this.byStore.set(worker.storeId, list);
  }

  remove(worker: GatewayWorker): void {
    const list = (this.byStore.get(worker.storeId) ?? []).filter((w) => w !== worker);
    if (list.length === 0) this.byStore.delete(worker.storeId);
    else this.byStore.set(worker.storeId, list);
  }

  async call(call: StoreCall, context?: WorkerCallContext): Promise<unknown> {
    return this.pick(call.store).call(call, context);
  }

  async open(call: StoreStreamCall): Promise<EventSubscription> {
    return this.pick(call.store).open(call);
  }

  private pick(store: unknown): GatewayWorker {
    const list = typeof store === 'string' ? this.byStore.get(store) : undefined;
    if (list === undefined || list.length === 0) {
      throw new UnavailableError(`this node serves no store '${String(store)}'`, { store, delivered: false });
    }
    let best = list[0]!;
    for (const w of list) if (w.inFlight < best.inFlight) best = w;
    return best;
  }
}
