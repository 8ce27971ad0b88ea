/**
 * A gateway worker: the endpoint through which one store is reached. It executes store calls (plain objects, see
 * protocol.ts) against its store and opens subscriptions on the store's hub. Several workers may serve one store
 * (`gatewayPoolSize`); they share the store, so the pool spreads the gateway's bookkeeping, not the disk.
 */
import type { Logger } from 'pino';
import { GaterError, InvalidArgumentError, UnavailableError } from '../errors/index.ts';
import type { AppendOptions, EventStore, StoreBackendName } from '../store/event-store.ts';
import type { EventSubscription } from '../store/subscriptions/types.ts';
import type { SubscriptionHub } from '../store/subscriptions/index.ts';
import { decodeCallArgs } from './decode-call.ts';
import type { StoreCall, StoreCallResult, StoreOp, StoreStreamCall } from './protocol.ts';

export interface GatewayWorkerComponents {
  store: EventStore;
  hub: SubscriptionHub;
  logger?: Logger;
}

/** What a worker knows of the caller waiting for a call. */
export interface WorkerCallContext {
  /** When the caller stops waiting, in ms since the epoch. */
  readonly deadlineAt: number;
  /**
   * Aborted when the caller gives up early (cancels, or its connection drops). Read only where it is used: a relayed
   * call's signal is made on first read.
   */
  readonly signal?: AbortSignal | undefined;
}

export interface GatewayWorkerInit {
  /** Unique id of this worker across the cluster. */
  workerId: string;
}

export class GatewayWorker {
  readonly workerId: string;
  readonly storeId: string;
  readonly backend: StoreBackendName;
  readonly startedAt: string;
  private readonly store: EventStore;
  private readonly hub: SubscriptionHub;
  private stopped = false;
  private inFlightCount = 0;

  constructor(components: GatewayWorkerComponents, init: GatewayWorkerInit) {
    this.store = components.store;
    this.hub = components.hub;
    this.workerId = init.workerId;
    this.storeId = components.store.storeId;
    this.backend = components.store.backend;
    this.startedAt = new Date().toISOString();
  }

  /** Calls being executed right now. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /**
   * Executes one call. Arguments are checked here because they may come from the wire. A call whose deadline has
   * passed before it starts is not executed (`timeout`); an append waiting for its batch when the caller stops
   * waiting is not written (see `AppendOptions`).
   */
  async call<Op extends StoreOp>(call: StoreCall<Op>, context?: WorkerCallContext): Promise<StoreCallResult<Op>> {
    if (this.stopped) throw this.stoppedError();
    if (call.store !== this.storeId) {
      throw new InvalidArgumentError('store', `worker ${this.workerId} serves '${this.storeId}', not '${call.store}'`);
    }
    if (context !== undefined && Date.now() >= context.deadlineAt) {
      throw new GaterError('timeout', `${String(call.op)} reached worker ${this.workerId} after its deadline; not run`, {
        workerId: this.workerId,
      });
    }
    this.inFlightCount++;
    try {
      return (await this.execute(call as StoreCall, context)) as StoreCallResult<Op>;
    } finally {
      this.inFlightCount--;
    }
  }

  /** Opens a stream of deliveries: a transient observation or a persistent subscription's session. */
  async open(call: StoreStreamCall): Promise<EventSubscription> {
    if (this.stopped) throw this.stoppedError();
    if (call.op === 'observe') return this.hub.observe(call.spec);
    return this.hub.connect(call.name);
  }

  /** Refuses new calls from now on (as not delivered: the caller may try another worker); calls under way finish. */
  stop(): void {
    this.stopped = true;
  }

  private stoppedError(): UnavailableError {
    return new UnavailableError(`worker ${this.workerId} is stopped`, { workerId: this.workerId, delivered: false });
  }

  private async execute(call: StoreCall, context: WorkerCallContext | undefined): Promise<unknown> {
    const s = this.store;
    const decoded = decodeCallArgs(call);
    switch (decoded.op) {
      case 'append': {
        const a = decoded.args;
        const options: AppendOptions = {};
        if (a.expectedVersion !== undefined) options.expectedVersion = a.expectedVersion;
        if (context !== undefined) {
          options.deadlineAt = context.deadlineAt;
          const signal = context.signal;
          if (signal !== undefined) options.signal = signal;
        }
        return s.append(a.streamId, a.events, options);
      }
      case 'readStream': {
        const { streamId, ...options } = decoded.args;
        return s.readStream(streamId, options, context);
      }
      case 'readFiltered':
        return s.readFiltered(decoded.args.filter, decoded.args.fromPosition, decoded.args.limit, context);
      case 'streamVersion':
        return s.streamVersion(decoded.args.streamId, context);
      case 'listStreams':
        return s.listStreams(context);
      case 'deleteStream':
        await s.deleteStream(decoded.args.streamId, context);
        return null;
      case 'stats':
        return s.stats(context);
      case 'recordSnapshot':
        await s.recordSnapshot(decoded.args.snapshot, context);
        return null;
      case 'readSnapshot':
        return s.readSnapshot(decoded.args.sourceUuid, decoded.args.streamUuid, decoded.args.version, context);
      case 'deleteSnapshot':
        await s.deleteSnapshot(decoded.args.sourceUuid, decoded.args.streamUuid, decoded.args.version, context);
        return null;
      case 'listSnapshots':
        return s.listSnapshots(decoded.args.query, context);
      case 'saveSubscription':
        return s.saveSubscription(decoded.args.spec, context);
      case 'removeSubscription':
        // Through the hub, so that an open session of the subscription ends too.
        await this.hub.removeSubscription(decoded.args.type, decoded.args.selector, decoded.args.name, context);
        return null;
      case 'getSubscription':
        return this.hub.getSubscription(decoded.args.name, context);
      case 'listSubscriptions':
        return s.listSubscriptions(context);
      case 'ack':
        return { checkpoint: await this.hub.ack(decoded.args.name, decoded.args.positions) };
      case 'listParked':
        return this.hub.listParked(decoded.args.name, context);
      case 'replayParked':
        return { replayed: await this.hub.replayParked(decoded.args.name, decoded.args.positions) };
    }
  }
}
