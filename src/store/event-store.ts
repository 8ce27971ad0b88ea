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
  StoreStats,
  StreamInfo,
  SubscriptionRecord,
  SubscriptionSpec,
  SubscriptionType,
  SubscriptionSelector,
} from './types.ts';

export type StoreBackendName = 'sqlite' | 'postgres';

/**
 * Called after a commit with the events it made durable, in position order. A hint for live readers. An empty list is
 * a bare hint: something may have been committed (by another node sharing the store); read the store to find out.
 * `hintedPosition` is where that commit reached, when the store knows it.
 */
export type AppendListener = (events: readonly RecordedEvent[], hintedPosition?: number) => void;

/**
 * The right to deliver one persistent subscription, held by one node at a time (see
 * `EventStore.acquireSubscriptionLease`).
 */
export interface SubscriptionLease {
  /** Resolves when the lease ends: released, or lost (the node's connection to a shared store failed). */
  readonly lost: Promise<void>;
  /** Gives the lease up. Idempotent. */
  release(): Promise<void>;
}

/** Whether a store can serve calls right now, for readiness probes. */
export interface StoreHealth {
  readonly ok: boolean;
  /** Why not, when it cannot. */
  readonly detail?: string;
}

/**
 * What a store call knows of its caller, so that a backend which can stop its work half-way does so once nobody waits
 * (PostgreSQL cancels the statement at the server; SQLite's statements are short and run to their end).
 */
export interface CallOptions {
  /** When the caller stops waiting, in ms since the epoch: the call then fails with `timeout`. Default: none. */
  deadlineAt?: number | undefined;
  /** Aborted when the caller stops waiting early: the call then fails with `unavailable`. Default: none. */
  signal?: AbortSignal | undefined;
}

export interface AppendOptions extends CallOptions {
  /**
   * A stream version, or one of the sentinels of `ExpectedVersion` (-1 no_stream, -2 any, -4 stream_exists).
   * Default -2 (any).
   */
  expectedVersion?: number;
  /**
   * When the caller stops waiting, in ms since the epoch. An append still waiting for its batch then is not written
   * and fails with `timeout`; one already being written completes, and its outcome stands. Default: none.
   */
  deadlineAt?: number;
  /** Aborted when the caller stops waiting early: an append still waiting is then not written (`unavailable`). */
  signal?: AbortSignal;
}

export interface ReadStreamOptions {
  /** First version to read (inclusive). Default: 0 forward, the last version backward. */
  fromVersion?: number;
  /** At most this many events. */
  count: number;
  direction?: Direction;
}

/**
 * The contract every store backend keeps. Errors are GaterErrors: `wrong_expected_version` (with `currentVersion`),
 * `invalid_argument`, `not_found`, `stream_not_found`, `unavailable`. All methods are async so that remote backends
 * (PostgreSQL) fit; the SQLite backend answers synchronously inside the promise where it can.
 */
export interface EventStore {
  readonly storeId: string;
  readonly backend: StoreBackendName;

  open(): Promise<void>;
  /** Waits for pending appends, then closes. Idempotent. */
  close(): Promise<void>;

  /**
   * Appends events to a stream atomically. The expected-version check and the write are one step. An append whose
   * event ids are all already recorded, in the same order, in this stream returns the first result and writes nothing;
   * an id recorded elsewhere or a partial overlap is `invalid_argument`. Resolves only once the events are durable.
   */
  append(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;

  readStream(streamId: string, options: ReadStreamOptions, call?: CallOptions): Promise<RecordedEvent[]>;
  /** Events from `fromPosition` (inclusive) matching `filter`, at most `limit`, by position. */
  readFiltered(filter: EventFilter, fromPosition: number, limit: number, call?: CallOptions): Promise<FilteredRead>;
  /** -1 for a stream with no events. */
  streamVersion(streamId: string, call?: CallOptions): Promise<number>;
  listStreams(call?: CallOptions): Promise<StreamInfo[]>;
  /** Removes a stream's events; its global positions are not reused. Throws `stream_not_found` when absent. */
  deleteStream(streamId: string, call?: CallOptions): Promise<void>;
  stats(call?: CallOptions): Promise<StoreStats>;
  /** The position of the last committed event, -1 when none: what `stats` reports, at the cost of one row. */
  lastPosition(): Promise<number>;

  /** Registers a listener for committed events; returns the function that removes it. */
  onAppend(listener: AppendListener): () => void;

  recordSnapshot(snapshot: SnapshotInput, call?: CallOptions): Promise<void>;
  /** `version` 0 reads the latest snapshot. Throws `not_found`. */
  readSnapshot(sourceUuid: string, streamUuid: string, version: number, call?: CallOptions): Promise<SnapshotRecord>;
  /**
   * Deletes the snapshot of that exact version. Throws `not_found` when there is none, `invalid_argument` for version 0
   * (which reads the latest: repeating a delete of "the latest" would delete another).
   */
  deleteSnapshot(sourceUuid: string, streamUuid: string, version: number, call?: CallOptions): Promise<void>;
  listSnapshots(query?: SnapshotQuery, call?: CallOptions): Promise<SnapshotRecord[]>;

  /**
   * Saves a persistent subscription's definition. Saving the same (type, selector, name) again returns the stored
   * record unchanged; the same name with another type or selector is `conflict`.
   */
  saveSubscription(spec: SubscriptionSpec, call?: CallOptions): Promise<SubscriptionRecord>;
  /** Throws `not_found` when absent. Removes its checkpoint and parked events too. */
  removeSubscription(
    type: SubscriptionType,
    selector: SubscriptionSelector,
    name: string,
    call?: CallOptions,
  ): Promise<void>;
  getSubscription(name: string, call?: CallOptions): Promise<SubscriptionRecord | undefined>;
  listSubscriptions(call?: CallOptions): Promise<SubscriptionRecord[]>;
  /**
   * Moves the durable checkpoint forward (never backward). With `createdAt` (the record's), only that subscription's:
   * one removed and saved again under the same name meanwhile is another, and the call is `not_found`.
   */
  saveCheckpoint(name: string, position: number, createdAt?: string): Promise<void>;
  /** Parks an event; `createdAt` as for `saveCheckpoint`. Throws `not_found` when there is no such subscription. */
  parkEvent(parked: Omit<ParkedEvent, 'parkedAt'>, createdAt?: string): Promise<void>;
  listParked(name: string, call?: CallOptions): Promise<ParkedEvent[]>;
  /** Removes parked entries (all when `positions` is absent); returns those removed. */
  unparkEvents(name: string, positions?: readonly number[]): Promise<ParkedEvent[]>;
  /** Reads events by position (for parked replays). */
  readPositions(positions: readonly number[]): Promise<RecordedEvent[]>;

  /**
   * Optional, for stores shared by several nodes: the lease of persistent subscription `name`, or undefined when
   * another node holds it. The subscription engine delivers a subscription only while it holds its lease, so one node
   * at a time delivers it; when that node dies its lease ends and another node can take over from the checkpoint. A
   * store without this method is served by one node only, which always holds every lease.
   */
  acquireSubscriptionLease?(name: string): Promise<SubscriptionLease | undefined>;

  /**
   * Whether the store can serve calls right now, answered at once from what the store already knows (no I/O): a
   * readiness probe asks often. A store reachable only over a network says no while its connection is down.
   */
  health(): StoreHealth;
}
