/**
 * The gateway: the one implementation of GaterApi. It turns each API call into a store call, picks a worker for the
 * store (local first, then least in flight), enforces the caller's deadline, retries on another worker when that is
 * safe, and reports every outcome as a typed error with a stable code. It never reports success for something it did
 * not do: a call that was not answered in time is `timeout`, even if it may still complete at the worker.
 */
import { setTimeout as setTimeoutPromise } from 'node:timers/promises';
import type { Logger } from 'pino';
import { pino } from 'pino';
import {
  GaterError,
  NoWorkersError,
  TimeoutError,
  toGaterError,
  type ErrorCode,
} from '../errors/index.ts';
import { parseExpectedVersion } from '../store/expected-version.ts';
import type { EventSubscription, ObserveSpec } from '../store/subscriptions/types.ts';
import type {
  AppendResult,
  EventFilter,
  FilteredRead,
  NewEvent,
  ParkedEvent,
  RecordedEvent,
  SnapshotInput,
  SnapshotQuery,
  SnapshotRecord,
  StoreStats,
  StreamInfo,
  SubscriptionRecord,
  SubscriptionSelector,
  SubscriptionSpec,
  SubscriptionType,
} from '../store/types.ts';
import { isSafeToRetry, type StoreCall, type StoreCallArgs, type StoreCallResult, type StoreOp, type StoreStreamCall } from '../worker/protocol.ts';
import {
  callDeadline,
  type AppendOptions,
  type CallOptions,
  type GaterApi,
  type ReadOptions,
  type StoreDetails,
  type StoreSummary,
} from './gater-api.ts';
import { raceDeadline } from './deadline.ts';
import { retryDelayMs } from './retry-policy.ts';
import type { WorkerDirectory } from './worker-directory.ts';
import type { WorkerEndpoint } from './worker-endpoint.ts';
import { pickWorker } from './worker-picker.ts';

/** Overall deadline of a call when the caller gives none. */
export const CALL_TIMEOUT_MS = 5_000;
/** Attempts a call makes at least before it gives up on retryable failures (deadline permitting). */
export const MIN_ATTEMPTS = 3;
/** Attempts per worker of the store before a call gives up on retryable failures (deadline permitting). */
export const ATTEMPTS_PER_WORKER = 2;
/** How close to its deadline a call's `timeout` from an endpoint counts as the call's own deadline passing. */
const DEADLINE_SLACK_MS = 5;
/** Page size of reads when the caller gives none. */
export const DEFAULT_READ_COUNT = 100;

/**
 * The `store` label of a call to a store no worker serves. Store ids come from clients: a label for each would let
 * anyone who reaches the API add series (memory) without bound. No store id can take it (ids start with a letter or
 * digit).
 */
export const UNKNOWN_STORE_LABEL = '_unknown';

/** What the gateway reports about each call; GaterMetrics implements it. */
export interface CallRecorder {
  recordCall(op: string, store: string, outcome: 'ok' | ErrorCode, durationMs: number): void;
  recordAppended(store: string, events: number): void;
}

export interface GatewayComponents {
  directory: WorkerDirectory;
  metrics?: CallRecorder;
  logger?: Logger;
  /** Injected for tests; defaults to Date.now and Math.random. */
  clock?: { now(): number; random(): number };
}

export interface GatewayInit {
  /** Deadline of a call, retries included, when the caller gives none. @default 5000 */
  callTimeoutMs?: number;
}

export class Gateway implements GaterApi {
  private readonly directory: WorkerDirectory;
  private readonly metrics: CallRecorder | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly callTimeoutMs: number;
  private rotation = 0;

  constructor(components: GatewayComponents, init: GatewayInit = {}) {
    this.directory = components.directory;
    this.metrics = components.metrics;
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.now = components.clock?.now ?? Date.now;
    this.random = components.clock?.random ?? Math.random;
    this.callTimeoutMs = init.callTimeoutMs ?? CALL_TIMEOUT_MS;
  }

  async appendEvents(store: string, streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const args: StoreCallArgs<'append'> = { streamId, events };
    if (options.expectedVersion !== undefined) args.expectedVersion = parseExpectedVersion(options.expectedVersion);
    const result = await this.invoke(store, 'append', args, options);
    this.metrics?.recordAppended(store, Array.isArray(events) ? events.length : 0);
    return result;
  }

  getEvents(store: string, streamId: string, options: ReadOptions = {}): Promise<RecordedEvent[]> {
    const args: StoreCallArgs<'readStream'> = { streamId, count: options.count ?? DEFAULT_READ_COUNT };
    if (options.fromVersion !== undefined) args.fromVersion = options.fromVersion;
    if (options.direction !== undefined) args.direction = options.direction;
    return this.invoke(store, 'readStream', args, options);
  }

  getVersion(store: string, streamId: string, options?: CallOptions): Promise<number> {
    return this.invoke(store, 'streamVersion', { streamId }, options);
  }

  getStreams(store: string, options?: CallOptions): Promise<StreamInfo[]> {
    return this.invoke(store, 'listStreams', {}, options);
  }

  async deleteStream(store: string, streamId: string, options?: CallOptions): Promise<void> {
    await this.invoke(store, 'deleteStream', { streamId }, options);
  }

  readAll(store: string, fromPosition: number, count: number, options?: CallOptions): Promise<FilteredRead> {
    return this.invoke(store, 'readFiltered', { filter: {}, fromPosition, limit: count }, options);
  }

  readEvents(store: string, filter: EventFilter, fromPosition: number, count: number, options?: CallOptions): Promise<FilteredRead> {
    return this.invoke(store, 'readFiltered', { filter, fromPosition, limit: count }, options);
  }

  async getStore(store: string, options?: CallOptions): Promise<StoreDetails> {
    const summary = this.directory.summaries().find((s) => s.store === store);
    if (summary === undefined) throw new NoWorkersError(store);
    const stats: StoreStats = await this.invoke(store, 'stats', {}, options);
    return { ...summary, ...stats };
  }

  async listStores(): Promise<StoreSummary[]> {
    return this.directory.summaries();
  }

  async recordSnapshot(store: string, snapshot: SnapshotInput, options?: CallOptions): Promise<void> {
    await this.invoke(store, 'recordSnapshot', { snapshot }, options);
  }

  readSnapshot(store: string, sourceUuid: string, streamUuid: string, version: number, options?: CallOptions): Promise<SnapshotRecord> {
    return this.invoke(store, 'readSnapshot', { sourceUuid, streamUuid, version }, options);
  }

  async deleteSnapshot(store: string, sourceUuid: string, streamUuid: string, version: number, options?: CallOptions): Promise<void> {
    await this.invoke(store, 'deleteSnapshot', { sourceUuid, streamUuid, version }, options);
  }

  listSnapshots(store: string, query?: SnapshotQuery, options?: CallOptions): Promise<SnapshotRecord[]> {
    return this.invoke(store, 'listSnapshots', query === undefined ? {} : { query }, options);
  }

  saveSubscription(store: string, spec: SubscriptionSpec, options?: CallOptions): Promise<SubscriptionRecord> {
    return this.invoke(store, 'saveSubscription', { spec }, options);
  }

  async removeSubscription(
    store: string,
    type: SubscriptionType,
    selector: SubscriptionSelector,
    name: string,
    options?: CallOptions,
  ): Promise<void> {
    await this.invoke(store, 'removeSubscription', { type, selector, name }, options);
  }

  getSubscriptions(store: string, options?: CallOptions): Promise<SubscriptionRecord[]> {
    return this.invoke(store, 'listSubscriptions', {}, options);
  }

  getSubscription(store: string, name: string, options?: CallOptions): Promise<SubscriptionRecord> {
    return this.invoke(store, 'getSubscription', { name }, options);
  }

  ackEvents(store: string, name: string, positions: number[], options?: CallOptions): Promise<{ checkpoint: number }> {
    return this.invoke(store, 'ack', { name, positions }, options);
  }

  listParked(store: string, name: string, options?: CallOptions): Promise<ParkedEvent[]> {
    return this.invoke(store, 'listParked', { name }, options);
  }

  replayParked(store: string, name: string, positions?: number[], options?: CallOptions): Promise<{ replayed: number }> {
    return this.invoke(store, 'replayParked', positions === undefined ? { name } : { name, positions }, options);
  }

  subscribe(store: string, name: string, options?: CallOptions): Promise<EventSubscription> {
    return this.openStream({ store, op: 'subscribe', name }, options);
  }

  observe(store: string, spec: ObserveSpec, options?: CallOptions): Promise<EventSubscription> {
    return this.openStream({ store, op: 'observe', spec }, options);
  }

  // -------------------------------------------------------------------------------------------------------------

  private invoke<Op extends StoreOp>(
    store: string,
    op: Op,
    args: StoreCallArgs<Op>,
    options: CallOptions = {},
  ): Promise<StoreCallResult<Op>> {
    const call: StoreCall<Op> = { store, op, args };
    return this.attempt(store, op, options, isSafeToRetry(call as StoreCall), (endpoint, deadlineAt) =>
      endpoint.call(call as StoreCall, withSignal(deadlineAt, options.signal)) as Promise<StoreCallResult<Op>>,
    );
  }

  private openStream(call: StoreStreamCall, options: CallOptions = {}): Promise<EventSubscription> {
    // Opening a subscription changes nothing durable, so it may always be tried again elsewhere.
    return this.attempt(
      call.store,
      call.op,
      options,
      true,
      (endpoint, deadlineAt) => endpoint.open(call, withSignal(deadlineAt, options.signal)),
      (late) => late.close('closed'),
    );
  }

  /**
   * Runs `run` against a worker of `store` until it succeeds, fails for good, or the deadline passes. A failure is
   * tried again on another worker when the error is retryable and either the call is safe to repeat or the error
   * says the call never reached a worker (`data.delivered === false`).
   */
  private async attempt<T>(
    store: string,
    op: string,
    options: CallOptions,
    safeToRetry: boolean,
    run: (endpoint: WorkerEndpoint, deadlineAt: number) => Promise<T>,
    /** Releases what an attempt produced after the deadline gave up on it. */
    discardLate?: (late: T) => void,
  ): Promise<T> {
    const started = this.now();
    // On this gateway's clock (injectable in tests); `deadlineAt` and what endpoints get are epoch milliseconds.
    const wallNow = Date.now();
    const deadlineAt = started + (callDeadline(options, this.callTimeoutMs, wallNow) - wallNow);
    const budgetMs = deadlineAt - started;
    const timedOut = (): GaterError => new TimeoutError(`${op} on store '${store}'`, budgetMs);
    let tried: Set<string> | undefined;
    let attempt = 0;
    try {
      for (;;) {
        options.signal?.throwIfAborted();
        // A shared deadline (`deadlineAt`) may be spent before this call starts: nothing is sent then.
        if (this.now() >= deadlineAt) throw timedOut();
        const conflict = this.directory.conflictFor(store);
        if (conflict !== undefined) {
          throw new GaterError(
            'store_conflict',
            `store '${store}' is announced by ${conflict.nodeIds.length} nodes as different stores (an embedded store, ` +
              `or different backends): ${conflict.nodeIds.join(', ')}; stop all but one`,
            { store, nodeIds: conflict.nodeIds },
          );
        }
        const endpoints = this.directory.endpointsFor(store);
        const endpoint = pickWorker(endpoints, tried, this.rotation++);
        if (endpoint === undefined) throw new NoWorkersError(store);
        try {
          const work = run(endpoint, Date.now() + (deadlineAt - this.now()));
          // Remote endpoints settle by the deadline themselves (the RPC's own timer): no second timer per call.
          const result = await (endpoint.settlesByDeadline === true ? work : raceDeadline(work, deadlineAt, timedOut, this.now, discardLate));
          this.metrics?.recordCall(op, store, 'ok', this.now() - started);
          return result;
        } catch (err) {
          const remainingMs = deadlineAt - this.now();
          // A timeout at the deadline is this call's timeout, whoever's timer noticed it first (another clock's timer
          // may fire a millisecond before this one reads the deadline as passed).
          const failure = toGaterError(err);
          const error = failure.code === 'timeout' && remainingMs <= DEADLINE_SLACK_MS ? timedOut() : failure;
          const undelivered = error.data['delivered'] === false;
          if (!error.retryable || !(safeToRetry || undelivered) || remainingMs <= 0) throw error;
          attempt++;
          // Every worker has had its chances: answer now rather than spin until the deadline (a crashed node's
          // workers stay in the registry until the failure detector purges them).
          if (attempt >= Math.max(MIN_ATTEMPTS, ATTEMPTS_PER_WORKER * endpoints.length)) throw error;
          (tried ??= new Set()).add(endpoint.info.workerId);
          const delayMs = Math.min(retryDelayMs(attempt, this.random), remainingMs);
          this.logger.debug({ op, store, attempt, code: error.code, delayMs, workerId: endpoint.info.workerId }, 'retrying call');
          await sleep(delayMs, options.signal);
          if (this.now() >= deadlineAt) throw timedOut();
        }
      }
    } catch (err) {
      const error = toGaterError(isAbort(err) ? new GaterError('unavailable', 'the call was cancelled') : err);
      this.metrics?.recordCall(op, this.storeLabel(store), error.code, this.now() - started);
      if (error.code === 'internal') this.logger.error({ err, op, store }, 'call failed');
      throw error;
    }
  }

  /** A failed call's store label: the store while the registry knows it (it has workers, or is in conflict). */
  private storeLabel(store: string): string {
    const known = this.directory.endpointsFor(store).length > 0 || this.directory.conflictFor(store) !== undefined;
    return known ? store : UNKNOWN_STORE_LABEL;
  }
}

function withSignal(deadlineAt: number, signal: AbortSignal | undefined): { deadlineAt: number; signal?: AbortSignal } {
  return signal === undefined ? { deadlineAt } : { deadlineAt, signal };
}

/** Waits `ms`, or rejects with an AbortError as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return setTimeoutPromise(ms, undefined, signal === undefined ? {} : { signal });
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
