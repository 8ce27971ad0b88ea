/**
 * The public gateway API: every store call of the seed's `ExESDBGater.API`, addressed by store id, answered by a
 * worker for that store wherever it runs. The HTTP API, the CLI and the TypeScript client are all views of this.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import type { StoreBackendName } from '../store/event-store.ts';
import type { EventSubscription, ObserveSpec } from '../store/subscriptions/types.ts';
import type {
  AppendResult,
  Direction,
  EventFilter,
  FilteredRead,
  NewEvent,
  ParkedEvent,
  RecordedEvent,
  SnapshotInput,
  SnapshotQuery,
  SnapshotRecord,
  StreamInfo,
  SubscriptionRecord,
  SubscriptionSelector,
  SubscriptionSpec,
  SubscriptionType,
} from '../store/types.ts';

export interface CallOptions {
  /** Overall deadline of the call in milliseconds, retries included. Default: the gateway's (5,000). */
  deadlineMs?: number;
  /**
   * The deadline as an instant (ms since the epoch), for an operation made of several calls that share one deadline.
   * Given alone, it is the deadline; with `deadlineMs`, the earlier of the two applies. Default: none.
   */
  deadlineAt?: number;
  signal?: AbortSignal;
}

/**
 * The instant (ms since the epoch) a call made at `now` with `options` must be done by: `deadlineAt` given alone, else
 * `now + (deadlineMs ?? defaultMs)`, or the earlier of the two when both are given. Throws `invalid_argument` for a
 * `deadlineAt` that is no time.
 */
export function callDeadline(options: CallOptions, defaultMs: number, now: number = Date.now()): number {
  const { deadlineAt, deadlineMs } = options;
  if (deadlineAt !== undefined && !Number.isFinite(deadlineAt)) {
    throw new InvalidArgumentError('deadlineAt', 'must be a time in milliseconds since the epoch');
  }
  if (deadlineAt !== undefined && deadlineMs === undefined) return deadlineAt;
  return Math.min(deadlineAt ?? Infinity, now + (deadlineMs ?? defaultMs));
}

export interface AppendOptions extends CallOptions {
  /** A version, or `no_stream` (-1), `any` (-2, the default), `stream_exists` (-4); names and numbers both work. */
  expectedVersion?: number | string;
}

export interface ReadOptions extends CallOptions {
  /** First version to read (inclusive). Default: 0 forward, the last version backward. */
  fromVersion?: number;
  /** Default 100. */
  count?: number;
  /** Default `forward`. */
  direction?: Direction;
}

export interface WorkerInfo {
  store: string;
  workerId: string;
  nodeId: string;
  backend: StoreBackendName;
  /** Whether the worker runs on the node answering the call. */
  local: boolean;
}

export interface StoreSummary {
  store: string;
  workers: WorkerInfo[];
}

export interface StoreDetails extends StoreSummary {
  hasEvents: boolean;
  /** -1 when the store is empty. */
  lastPosition: number;
  streamCount: number;
}

export interface GaterApi {
  appendEvents(store: string, streamId: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  getEvents(store: string, streamId: string, options?: ReadOptions): Promise<RecordedEvent[]>;
  getVersion(store: string, streamId: string, options?: CallOptions): Promise<number>;
  getStreams(store: string, options?: CallOptions): Promise<StreamInfo[]>;
  deleteStream(store: string, streamId: string, options?: CallOptions): Promise<void>;
  /** `$all`: every event by global position. */
  readAll(store: string, fromPosition: number, count: number, options?: CallOptions): Promise<FilteredRead>;
  /** Events matching a filter (types and/or tags), by global position. */
  readEvents(
    store: string,
    filter: EventFilter,
    fromPosition: number,
    count: number,
    options?: CallOptions,
  ): Promise<FilteredRead>;
  getStore(store: string, options?: CallOptions): Promise<StoreDetails>;
  /** Every store any node of the cluster serves, with its workers. */
  listStores(options?: CallOptions): Promise<StoreSummary[]>;

  recordSnapshot(store: string, snapshot: SnapshotInput, options?: CallOptions): Promise<void>;
  /** `version` 0 reads the latest. */
  readSnapshot(
    store: string,
    sourceUuid: string,
    streamUuid: string,
    version: number,
    options?: CallOptions,
  ): Promise<SnapshotRecord>;
  deleteSnapshot(
    store: string,
    sourceUuid: string,
    streamUuid: string,
    version: number,
    options?: CallOptions,
  ): Promise<void>;
  listSnapshots(store: string, query?: SnapshotQuery, options?: CallOptions): Promise<SnapshotRecord[]>;

  saveSubscription(store: string, spec: SubscriptionSpec, options?: CallOptions): Promise<SubscriptionRecord>;
  removeSubscription(
    store: string,
    type: SubscriptionType,
    selector: SubscriptionSelector,
    name: string,
    options?: CallOptions,
  ): Promise<void>;
  getSubscriptions(store: string, options?: CallOptions): Promise<SubscriptionRecord[]>;
  getSubscription(store: string, name: string, options?: CallOptions): Promise<SubscriptionRecord>;
  /** Opens the delivery session of a saved persistent subscription (one active session per subscription). */
  subscribe(store: string, name: string, options?: CallOptions): Promise<EventSubscription>;
  /** Acknowledges delivered events by position; returns the durable checkpoint after the ack. */
  ackEvents(store: string, name: string, positions: number[], options?: CallOptions): Promise<{ checkpoint: number }>;
  listParked(store: string, name: string, options?: CallOptions): Promise<ParkedEvent[]>;
  /** Puts parked events back in front of the subscription's queue. */
  replayParked(store: string, name: string, positions?: number[], options?: CallOptions): Promise<{ replayed: number }>;
  /** A transient subscription: live events (or from `startFrom`), nothing stored. */
  observe(store: string, spec: ObserveSpec, options?: CallOptions): Promise<EventSubscription>;
}
