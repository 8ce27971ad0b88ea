/**
 * The embedded event store: one SQLite database per store, written through group commit, read with prepared
 * statements. Every method answers synchronously inside its promise; appends wait for their batch's commit.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { pino, type Logger } from 'pino';
import { GaterError, StreamNotFoundError, UnavailableError, toGaterError } from '../../errors/index.ts';
import type { AppendListener, AppendOptions, EventStore, ReadStreamOptions, StoreHealth } from '../event-store.ts';
import { parseExpectedVersion } from '../expected-version.ts';
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
} from '../types.ts';
import {
  prepareEvents,
  validateCount,
  validateFilter,
  validateNonNegativeInteger,
  validateParkedEvent,
  validatePositions,
  validateReadStream,
  validateSelector,
  validateSnapshotInput,
  validateSnapshotKey,
  validateSnapshotQuery,
  validateStoreId,
  validateStreamId,
  validateSubscriptionName,
  validateCreatedAt,
  validateSubscriptionSpec,
  validateSubscriptionType,
} from '../validate.ts';
import { AppendWriter } from './append-writer.ts';
import {
  FILTER_STATEMENT_CACHE_SIZE,
  MAX_BATCH_EVENTS,
  STREAM_CACHE_SIZE,
  SYNCHRONOUS,
} from './constants.ts';
import {
  committing,
  openStoreDatabase,
  sqliteErrorCode,
  storeDatabasePath,
  type SynchronousMode,
} from './database.ts';
import { isOutcomeUnknown } from '../store-errors.ts';
import { EventDecoder, eventColumns } from '../event-rows.ts';
import { FilterReader } from './filter-reader.ts';
import { GroupCommit } from './group-commit.ts';
import { SnapshotTable } from './snapshots.ts';
import { StreamIndex } from './stream-index.ts';
import { SubscriptionRecords } from './subscription-records.ts';

export interface SqliteEventStoreComponents {
  logger?: Logger;
}

export interface SqliteEventStoreInit {
  /** The store's id: 1 to 128 letters, digits, `.`, `_` or `-`. Names its directory. */
  storeId: string;
  /** Directory of the node's data; the store lives in `<dataDir>/stores/<storeId>/events.sqlite`. */
  dataDir: string;
  /**
   * SQLite `synchronous` level. FULL syncs the WAL on every commit, so an acknowledged append survives power loss;
   * NORMAL syncs only at checkpoints: an acknowledged append survives a crash of the process but maybe not of the
   * machine. @default 'FULL'
   */
  synchronous?: SynchronousMode;
  /** Most events committed in one transaction by group commit. @default 10000 (MAX_BATCH_EVENTS) */
  maxBatchEvents?: number;
  /** Streams whose id and version are kept in memory. @default 100000 (STREAM_CACHE_SIZE) */
  streamCacheSize?: number;
}

/** What exists while the store is open. */
interface OpenStore {
  db: DatabaseSync;
  streams: StreamIndex;
  commits: GroupCommit;
  filters: FilterReader;
  snapshots: SnapshotTable;
  subscriptions: SubscriptionRecords;
  decoder: EventDecoder;
  readForward: StatementSync;
  readBackward: StatementSync;
  listStreams: StatementSync;
  stats: StatementSync;
  streamTail: StatementSync;
  deleteTags: StatementSync;
  deleteEvents: StatementSync;
  deleteStream: StatementSync;
  raiseDeletedHighWater: StatementSync;
}

const DELETED_HIGH_WATER = 'deleted_position_high_water';

export class SqliteEventStore implements EventStore {
  readonly storeId: string;
  readonly backend = 'sqlite' as const;
  /** The database file. */
  readonly path: string;
  readonly #logger: Logger;
  readonly #synchronous: SynchronousMode;
  readonly #maxBatchEvents: number;
  readonly #streamCacheSize: number;
  readonly #listeners = new Set<AppendListener>();
  /** `failed`: the database could not be opened again after a write of unknown outcome (see #reopen). */
  #state: 'new' | 'open' | 'closing' | 'closed' | 'failed' = 'new';
  #open: OpenStore | undefined;
  #closed: Promise<void> | undefined;

  constructor(components: SqliteEventStoreComponents, init: SqliteEventStoreInit) {
    this.storeId = validateStoreId(init.storeId);
    this.path = storeDatabasePath(init.dataDir, this.storeId);
    this.#logger = components.logger ?? pino({ level: 'silent' });
    this.#synchronous = init.synchronous ?? SYNCHRONOUS;
    this.#maxBatchEvents = init.maxBatchEvents ?? MAX_BATCH_EVENTS;
    this.#streamCacheSize = init.streamCacheSize ?? STREAM_CACHE_SIZE;
  }

  /** Rows this store's reads fetched from the database since open (see EventDecoder.rowsFetched). */
  get rowsFetched(): number {
    return this.#open?.decoder.rowsFetched ?? 0;
  }

  /** Group commit's batches and the appends they held, since open. */
  get commitCounters(): { batches: number; appends: number } {
    return this.#open?.commits.counters ?? { batches: 0, appends: 0 };
  }

  async open(): Promise<void> {
    if (this.#state === 'open') return;
    if (this.#state !== 'new') throw this.#closedError();
    const db = openStoreDatabase(this.path, this.storeId, this.#synchronous);
    try {
      this.#open = this.#build(db);
    } catch (err) {
      db.close();
      throw storageError(err);
    }
    this.#state = 'open';
    this.#logger.info({ path: this.path, nextPosition: this.#open.commits.nextPosition }, 'store opened');
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    // A reopen (see #reopen) may replace the database while this waits: the one to close is the last one.
    while (this.#open !== undefined && this.#open.commits.pending > 0) await this.#open.commits.drained();
    const open = this.#open;
    if (open !== undefined) {
      open.db.close();
      this.#logger.info('store closed');
    }
    this.#open = undefined;
    this.#state = 'closed';
  }

  append(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    try {
      const open = this.#requireOpen(true);
      // Validated and serialised here, before queueing: a bad append fails at once and never joins a batch.
      const streamIdOk = validateStreamId(streamId);
      const prepared = prepareEvents(events);
      const expectedVersion = parseExpectedVersion(options?.expectedVersion);
      const { promise, resolve, reject } = Promise.withResolvers<AppendResult>();
      open.commits.enqueue({
        streamId: streamIdOk,
        prepared,
        expectedVersion,
        deadlineAt: options?.deadlineAt,
        signal: options?.signal,
        resolve,
        reject,
      });
      return promise;
    } catch (err) {
      return Promise.reject(storageError(err));
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.#call((open) => {
      validateStreamId(streamId);
      const { fromVersion, count, direction } = validateReadStream(options);
      const stream = open.streams.committed(streamId);
      if (stream === undefined) return [];
      const rows =
        direction === 'forward'
          ? open.readForward.iterate(streamId, stream.sid, fromVersion ?? 0, count)
          : open.readBackward.iterate(streamId, stream.sid, fromVersion ?? stream.version, count);
      return open.decoder.decodePage(rows).events;
    });
  }

  async readFiltered(filter: EventFilter, fromPosition: number, limit: number): Promise<FilteredRead> {
    return this.#call((open) =>
      open.filters.read(
        validateFilter(filter),
        validateNonNegativeInteger(fromPosition, 'fromPosition'),
        validateCount(limit, 'limit'),
        open.commits.nextPosition - 1,
      ),
    );
  }

  async streamVersion(streamId: string): Promise<number> {
    return this.#call((open) => open.streams.committed(validateStreamId(streamId))?.version ?? -1);
  }

  async listStreams(): Promise<StreamInfo[]> {
    return this.#call((open) =>
      (open.listStreams.all() as unknown as [string, number][]).map(([streamId, version]) => ({ streamId, version })),
    );
  }

  async deleteStream(streamId: string): Promise<void> {
    return this.#call((open) => {
      validateStreamId(streamId);
      const stream = open.streams.committed(streamId);
      if (stream === undefined) throw new StreamNotFoundError(streamId);
      open.db.exec('BEGIN IMMEDIATE');
      try {
        const tail = open.streamTail.get(stream.sid) as unknown as [number | null];
        open.deleteTags.run(stream.sid);
        open.deleteEvents.run(stream.sid);
        open.deleteStream.run(stream.sid);
        // Remember the highest position removed, so that reopening never hands it out again.
        if (tail[0] !== null) open.raiseDeletedHighWater.run(DELETED_HIGH_WATER, tail[0]);
        committing(`deleting stream '${streamId}'`, () => open.db.exec('COMMIT'));
      } catch (err) {
        if (open.db.isTransaction) open.db.exec('ROLLBACK');
        throw err;
      } finally {
        // Also after a failure: the next read of the stream goes to disk, which knows what happened.
        open.streams.forget(streamId);
      }
    });
  }

  async stats(): Promise<StoreStats> {
    return this.#call((open) => {
      const [hasEvents, streamCount] = open.stats.get() as unknown as [number, number];
      return { hasEvents: hasEvents === 1, lastPosition: open.commits.nextPosition - 1, streamCount };
    });
  }

  async lastPosition(): Promise<number> {
    return this.#call((open) => open.commits.nextPosition - 1);
  }

  /** Healthy while open: the file is local, so an open store can serve. */
  health(): StoreHealth {
    return this.#state === 'open' ? { ok: true } : { ok: false, detail: this.#state };
  }

  onAppend(listener: AppendListener): () => void {
    // Wrapped, so the same function registered twice is two registrations, each removed by its own remover.
    const entry: AppendListener = (events) => listener(events);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  async recordSnapshot(snapshot: SnapshotInput): Promise<void> {
    return this.#call((open) => open.snapshots.record(validateSnapshotInput(snapshot), nowUs()));
  }

  async readSnapshot(sourceUuid: string, streamUuid: string, version: number): Promise<SnapshotRecord> {
    return this.#call((open) => {
      const key = validateSnapshotKey(sourceUuid, streamUuid, version);
      return open.snapshots.read(key.sourceUuid, key.streamUuid, key.version);
    });
  }

  async deleteSnapshot(sourceUuid: string, streamUuid: string, version: number): Promise<void> {
    return this.#call((open) => {
      const key = validateSnapshotKey(sourceUuid, streamUuid, version);
      open.snapshots.delete(key.sourceUuid, key.streamUuid, key.version);
    });
  }

  async listSnapshots(query?: SnapshotQuery): Promise<SnapshotRecord[]> {
    return this.#call((open) => open.snapshots.list(validateSnapshotQuery(query)));
  }

  async saveSubscription(spec: SubscriptionSpec): Promise<SubscriptionRecord> {
    return this.#call((open) => open.subscriptions.save(validateSubscriptionSpec(spec), nowUs()));
  }

  async removeSubscription(type: SubscriptionType, selector: SubscriptionSelector, name: string): Promise<void> {
    return this.#call((open) => {
      const validType = validateSubscriptionType(type);
      open.subscriptions.remove(validType, validateSelector(validType, selector), validateSubscriptionName(name));
    });
  }

  async getSubscription(name: string): Promise<SubscriptionRecord | undefined> {
    return this.#call((open) => open.subscriptions.get(validateSubscriptionName(name)));
  }

  async listSubscriptions(): Promise<SubscriptionRecord[]> {
    return this.#call((open) => open.subscriptions.list());
  }

  async saveCheckpoint(name: string, position: number, createdAt?: string): Promise<void> {
    return this.#call((open) => {
      const validName = validateSubscriptionName(name);
      open.subscriptions.saveCheckpoint(
        validName,
        validateNonNegativeInteger(position, 'position'),
        validateCreatedAt(createdAt),
      );
    });
  }

  async parkEvent(parked: Omit<ParkedEvent, 'parkedAt'>, createdAt?: string): Promise<void> {
    return this.#call((open) =>
      open.subscriptions.park(validateParkedEvent(parked), nowUs(), validateCreatedAt(createdAt)),
    );
  }

  async listParked(name: string): Promise<ParkedEvent[]> {
    return this.#call((open) => open.subscriptions.listParked(validateSubscriptionName(name)));
  }

  async unparkEvents(name: string, positions?: readonly number[]): Promise<ParkedEvent[]> {
    return this.#call((open) =>
      open.subscriptions.unpark(
        validateSubscriptionName(name),
        positions === undefined ? undefined : validatePositions(positions),
      ),
    );
  }

  async readPositions(positions: readonly number[]): Promise<RecordedEvent[]> {
    return this.#call((open) => open.filters.readPositions(validatePositions(positions)));
  }

  #build(db: DatabaseSync): OpenStore {
    const decoder = new EventDecoder();
    const streams = new StreamIndex(db, this.#streamCacheSize);
    const nextPositionQuery = db.prepare(
      'SELECT max(coalesce((SELECT max(position) FROM events), -1), ' +
        `coalesce((SELECT value FROM store_meta WHERE key = '${DELETED_HIGH_WATER}'), -1)) + 1`,
    );
    nextPositionQuery.setReturnArrays(true);
    const commits = new GroupCommit(
      {
        db,
        writer: new AppendWriter(db, streams),
        streams,
        decoder,
        logger: this.#logger,
        loadNextPosition: () => (nextPositionQuery.get() as unknown as [number])[0],
        onCommitted: (events) => this.#notify(events),
        wantsEvents: () => this.#listeners.size > 0,
        onOutcomeUnknown: () => this.#reopen(),
      },
      { maxBatchEvents: this.#maxBatchEvents },
    );
    const arrays = (sql: string): StatementSync => {
      const statement = db.prepare(sql);
      statement.setReturnArrays(true);
      return statement;
    };
    return {
      db,
      streams,
      commits,
      filters: new FilterReader(db, streams, decoder, FILTER_STATEMENT_CACHE_SIZE),
      snapshots: new SnapshotTable(db),
      subscriptions: new SubscriptionRecords(db),
      decoder,
      readForward: arrays(
        `SELECT ${eventColumns('?1')} FROM events e WHERE e.sid = ?2 AND e.version >= ?3 ORDER BY e.version LIMIT ?4`,
      ),
      readBackward: arrays(
        `SELECT ${eventColumns('?1')} FROM events e WHERE e.sid = ?2 AND e.version <= ?3 ` +
          'ORDER BY e.version DESC LIMIT ?4',
      ),
      listStreams: arrays(
        'SELECT s.stream_id, (SELECT max(version) FROM events WHERE sid = s.sid) FROM streams s ORDER BY s.stream_id',
      ),
      stats: arrays('SELECT EXISTS (SELECT 1 FROM events), (SELECT count(*) FROM streams)'),
      streamTail: arrays('SELECT max(position) FROM events WHERE sid = ?'),
      // Each tag row found through the event's own tag list, by primary key: no scan of the tags table.
      deleteTags: db.prepare(
        'DELETE FROM event_tags WHERE (tag, position) IN ' +
          '(SELECT j.value, e.position FROM events e, json_each(e.tags) j WHERE e.sid = ? AND e.tags IS NOT NULL)',
      ),
      deleteEvents: db.prepare('DELETE FROM events WHERE sid = ?'),
      deleteStream: db.prepare('DELETE FROM streams WHERE sid = ?'),
      raiseDeletedHighWater: db.prepare(
        'INSERT INTO store_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = max(value, ?2)',
      ),
    };
  }

  #notify(events: readonly RecordedEvent[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(events);
      } catch (err) {
        this.#logger.error({ err }, 'append listener failed');
      }
    }
  }

  async #call<T>(fn: (open: OpenStore) => T): Promise<T> {
    const open = this.#requireOpen(false);
    try {
      return fn(open);
    } catch (err) {
      // The write may be on disk while this connection shows it is not: reopen before the caller hears of it.
      if (isOutcomeUnknown(err)) this.#reopen();
      throw storageError(err);
    }
  }

  /**
   * Brings memory and disk back to one truth after a write whose commit may or may not be on disk (see
   * `mayHaveCommitted`): this connection's WAL index no longer says what the WAL file holds. Closing the connection
   * checkpoints what the index knows and removes the WAL, dropping the failed commit, unless the WAL cannot be synced,
   * and then the WAL stays; opening again recovers from the files exactly what a restart would. Chosen over refusing
   * writes until a restart (PostgreSQL's answer to a failed fsync) because it keeps the store serving after a passing
   * fault, and tells the same story as the restart would. If the database cannot be opened again, the store fails
   * every call until it is closed.
   */
  #reopen(): void {
    const old = this.#open;
    if (old === undefined) return;
    const nextPosition = old.commits.nextPosition;
    const waiting = old.commits.takePending();
    try {
      old.db.close();
    } catch (err) {
      this.#logger.error({ err }, 'closing the database failed');
    }
    let db: DatabaseSync | undefined;
    try {
      db = openStoreDatabase(this.path, this.storeId, this.#synchronous);
      this.#open = this.#build(db);
    } catch (err) {
      try {
        db?.close();
      } catch {
        // already failing; err says why
      }
      this.#open = undefined;
      this.#state = 'failed';
      this.#logger.error({ err }, 'cannot open the database again; the store fails every call until it is closed');
      for (const append of waiting) append.reject(this.#failedError());
      return;
    }
    for (const append of waiting) this.#open.commits.enqueue(append);
    const recovered = this.#open.commits.nextPosition - nextPosition;
    this.#logger.warn({ recovered }, 'database opened again after a write of unknown outcome');
    // Events the old connection did not show may be there now: a bare hint makes readers look.
    if (recovered > 0) this.#notify([]);
  }

  #requireOpen(forWrite: boolean): OpenStore {
    if (this.#state === 'open' || (this.#state === 'closing' && !forWrite)) return this.#open!;
    if (this.#state === 'failed') throw this.#failedError();
    throw this.#state === 'new'
      ? new UnavailableError(`store '${this.storeId}' is not open`, { storeId: this.storeId })
      : this.#closedError();
  }

  #failedError(): UnavailableError {
    return new UnavailableError(
      `store '${this.storeId}' is down: its database could not be opened again after a storage failure`,
      { storeId: this.storeId },
    );
  }

  #closedError(): UnavailableError {
    return new UnavailableError(`store '${this.storeId}' is closed`, { storeId: this.storeId });
  }
}

/** GaterErrors as they are; SQLite failures become `unavailable`; anything else `internal`. */
function storageError(err: unknown): GaterError {
  if (err instanceof GaterError) return err;
  if (sqliteErrorCode(err) !== undefined) {
    return new UnavailableError(`storage failure: ${(err as Error).message}`, {}, { cause: err });
  }
  return toGaterError(err);
}

function nowUs(): number {
  return Date.now() * 1000;
}
