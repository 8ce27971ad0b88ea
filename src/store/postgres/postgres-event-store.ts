/**
 * The event store on PostgreSQL, shared by every node that opens the same store id on the same database. Appends are
 * group-committed through the store's `append_batch` function; reads are single statements; live readers are woken
 * by LISTEN/NOTIFY; persistent subscriptions are leased to one node at a time by advisory locks.
 */
import type pg from 'pg';
import { pino, type Logger } from 'pino';
import { StreamNotFoundError, UnavailableError } from '../../errors/index.ts';
import type {
  AppendListener,
  AppendOptions,
  CallOptions,
  EventStore,
  ReadStreamOptions,
  StoreHealth,
  SubscriptionLease,
} from '../event-store.ts';
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
import { outcomeUnknown } from '../store-errors.ts';
import { AppendBatcher } from './append-batcher.ts';
import {
  DELETION_CHUNK_EVENTS,
  CONNECT_TIMEOUT_MS,
  FILTER_PREPARED_SHAPES,
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TIMEOUT_MS,
  IDLE_CONNECTION_MS,
  MAX_BATCH_EVENTS,
  MAX_CONCURRENT_BATCHES,
  POOL_SIZE,
  RECONNECT_MAX_DELAY_MS,
  RECONNECT_MIN_DELAY_MS,
  STATEMENT_TIMEOUT_MS,
} from './constants.ts';
import {
  checkOut,
  clientConfig,
  createPool,
  mayHaveCommitted,
  storageError,
  storeTypes,
  type PoolSettings,
} from './database.ts';
import { withCallConnection, writeOnce } from './call-connection.ts';
import { EventDecoder, eventColumns, pageCutSql } from '../event-rows.ts';
import { FilterReader } from './filter-reader.ts';
import { NotificationListener } from './notification-listener.ts';
import type { ConnectionUpkeep } from './reconnecting-client.ts';
import { migrate, quoteIdent, schemaNameFor } from './schema.ts';
import { SnapshotTable } from './snapshots.ts';
import { SqlRunner, type Queryable } from './sql-runner.ts';
import { SubscriptionLeases } from './subscription-leases.ts';
import { SubscriptionRecords } from './subscription-records.ts';

export interface PostgresEventStoreComponents {
  logger?: Logger;
}

export interface PostgresEventStoreInit {
  /** The store's id: 1 to 128 letters, digits, `.`, `_` or `-`. Names its schema. */
  storeId: string;
  /** Connection URL of the database, `postgres://user:password@host:port/database`. */
  url: string;
  /** The schema holding the store. @default `gater_<storeId>` (shortened with a hash past 63 bytes) */
  schema?: string;
  /** Connections of the store's pool. @default 10 (POOL_SIZE) */
  poolSize?: number;
  /** Milliseconds a statement may run before the server cancels it (`timeout`). @default 5000 (STATEMENT_TIMEOUT_MS) */
  statementTimeoutMs?: number;
  /** Milliseconds to wait for a connection before a call fails with `unavailable`. @default 5000 (CONNECT_TIMEOUT_MS) */
  connectTimeoutMs?: number;
  /** Most events written by one append batch. @default 10000 (MAX_BATCH_EVENTS) */
  maxBatchEvents?: number;
  /** Append batches sent to the server at once. @default 2 (MAX_CONCURRENT_BATCHES) */
  maxConcurrentBatches?: number;
  /** Names this node's connections in `pg_stat_activity`. @default `gater:<storeId>` */
  applicationName?: string;
}

/** What exists while the store is open. */
interface OpenStore {
  pool: pg.Pool;
  batcher: AppendBatcher;
  filters: FilterReader;
  snapshots: SnapshotTable;
  subscriptions: SubscriptionRecords;
  listener: NotificationListener;
  leases: SubscriptionLeases;
}

export class PostgresEventStore implements EventStore {
  readonly storeId: string;
  readonly backend = 'postgres' as const;
  /** The schema holding the store. */
  readonly schema: string;
  readonly #logger: Logger;
  readonly #settings: PoolSettings;
  readonly #maxBatchEvents: number;
  readonly #maxConcurrentBatches: number;
  readonly #runner = new SqlRunner();
  readonly #decoder = new EventDecoder();
  readonly #listeners = new Set<AppendListener>();
  /** The removal of deleted streams' rows in flight, if any (close waits for its chunk). */
  #removing: Promise<unknown> | undefined;
  readonly #sql: ReturnType<typeof statements>;
  /** The highest position announced to listeners from this node's own commits. */
  #announced = -1;
  #state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';
  #open: OpenStore | undefined;
  #opened: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(components: PostgresEventStoreComponents, init: PostgresEventStoreInit) {
    this.storeId = validateStoreId(init.storeId);
    this.schema = init.schema ?? schemaNameFor(this.storeId);
    this.#logger = components.logger ?? pino({ level: 'silent' });
    this.#settings = {
      url: init.url,
      max: init.poolSize ?? POOL_SIZE,
      statementTimeoutMs: init.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: init.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      idleMs: IDLE_CONNECTION_MS,
      applicationName: (init.applicationName ?? `gater:${this.storeId}`).slice(0, 63),
    };
    this.#maxBatchEvents = init.maxBatchEvents ?? MAX_BATCH_EVENTS;
    this.#maxConcurrentBatches = init.maxConcurrentBatches ?? MAX_CONCURRENT_BATCHES;
    this.#sql = statements(quoteIdent(this.schema));
  }

  /** Rows this store's reads fetched from the server (see EventDecoder.rowsFetched). */
  get rowsFetched(): number {
    return this.#decoder.rowsFetched;
  }

  /** Append batches written and the appends they held, since open. */
  get commitCounters(): { batches: number; appends: number } {
    return this.#open?.batcher.counters ?? { batches: 0, appends: 0 };
  }

  /** Connects, creates or migrates the schema, and starts listening for other nodes' commits. */
  open(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(this.#closedError());
    this.#opened ??= this.#openOnce();
    return this.#opened;
  }

  async #openOnce(): Promise<void> {
    this.#state = 'opening';
    const types = storeTypes();
    const pool = createPool(this.#settings, types);
    // Errors of idle pooled connections (the server restarted): the pool drops them and connects anew when needed.
    pool.on('error', (err) => this.#logger.warn({ err }, 'idle database connection failed'));
    const config = clientConfig(this.#settings, types);
    const upkeep: ConnectionUpkeep = {
      minDelayMs: RECONNECT_MIN_DELAY_MS,
      maxDelayMs: RECONNECT_MAX_DELAY_MS,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    };
    const listener = new NotificationListener(
      { logger: this.#logger },
      {
        config,
        channel: this.schema,
        upkeep,
        onHint: (lastPosition) => this.#hint(lastPosition),
      },
    );
    const leases = new SubscriptionLeases(
      { logger: this.#logger },
      {
        config,
        schemaName: this.schema,
        upkeep,
      },
    );
    try {
      const { client, release } = await checkOut(pool);
      let failed: Error | undefined;
      try {
        await migrate(client, this.schema, this.storeId);
      } catch (err) {
        failed = err as Error;
        throw err;
      } finally {
        release(failed);
      }
      await listener.start();
    } catch (err) {
      await listener.stop();
      await pool.end().catch(() => {});
      this.#state = 'new';
      this.#opened = undefined;
      throw storageError(err);
    }
    const s = quoteIdent(this.schema);
    this.#open = {
      pool,
      batcher: new AppendBatcher(
        {
          pool,
          runner: this.#runner,
          decoder: this.#decoder,
          logger: this.#logger,
          onCommitted: (events) => this.#committed(events),
          wantsEvents: () => this.#listeners.size > 0,
        },
        { schema: s, maxBatchEvents: this.#maxBatchEvents, maxConcurrentBatches: this.#maxConcurrentBatches },
      ),
      filters: new FilterReader(s, this.#runner, this.#decoder, FILTER_PREPARED_SHAPES),
      snapshots: new SnapshotTable(s, this.#runner),
      subscriptions: new SubscriptionRecords(s, this.#runner),
      listener,
      leases,
    };
    if (this.#state !== 'opening') return; // closed while opening: close() finishes the job
    this.#state = 'open';
    this.#logger.info({ schema: this.schema }, 'store opened');
    // Deletions a node did not finish (it stopped or lost the server in the middle) are finished here.
    this.#removeAfter(this.#open).catch((err: unknown) =>
      this.#logger.warn({ err }, 'removing the events of deleted streams failed; it will be done later'),
    );
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    const wasOpening = this.#state === 'opening';
    this.#state = 'closing';
    if (wasOpening) await this.#opened?.catch(() => {});
    const open = this.#open;
    if (open !== undefined) {
      await this.#removing; // stops after its chunk in flight
      await open.batcher.drained();
      await Promise.all([open.listener.stop(), open.leases.stop()]);
      await open.pool.end().catch((err: unknown) => this.#logger.warn({ err }, 'closing the pool failed'));
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
      const anyIdSupplied = prepared.idsSupplied || events.some((e) => e.eventId !== undefined);
      const { promise, resolve, reject } = Promise.withResolvers<AppendResult>();
      open.batcher.enqueue({
        streamId: streamIdOk,
        prepared,
        expectedVersion,
        anyIdSupplied,
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

  async readStream(streamId: string, options: ReadStreamOptions, call?: CallOptions): Promise<RecordedEvent[]> {
    return this.#call(async (_open, db) => {
      validateStreamId(streamId);
      const { fromVersion, count, direction } = validateReadStream(options);
      const rows =
        direction === 'forward'
          ? await this.#runner.rows(db, this.#sql.readForward, [streamId, fromVersion ?? 0, count])
          : await this.#runner.rows(db, this.#sql.readBackward, [
              streamId,
              fromVersion ?? Number.MAX_SAFE_INTEGER,
              count,
            ]);
      return this.#decoder.decodePage(rows).events;
    }, call);
  }

  async readFiltered(
    filter: EventFilter,
    fromPosition: number,
    limit: number,
    call?: CallOptions,
  ): Promise<FilteredRead> {
    return this.#call(
      (open, db) =>
        open.filters.read(
          db,
          validateFilter(filter),
          validateNonNegativeInteger(fromPosition, 'fromPosition'),
          validateCount(limit, 'limit'),
        ),
      call,
    );
  }

  async streamVersion(streamId: string, call?: CallOptions): Promise<number> {
    return this.#call(async (_open, db) => {
      const row = await this.#runner.row(db, this.#sql.streamVersion, [validateStreamId(streamId)]);
      return (row?.[0] as number | null | undefined) ?? -1;
    }, call);
  }

  async listStreams(call?: CallOptions): Promise<StreamInfo[]> {
    return this.#call(
      async (_open, db) =>
        (await this.#runner.rows(db, this.#sql.listStreams)).map(([streamId, version]) => ({
          streamId: streamId as string,
          version: version as number,
        })),
      call,
    );
  }

  async deleteStream(streamId: string, call?: CallOptions): Promise<void> {
    return this.#call(async (open) => {
      validateStreamId(streamId);
      // A connection of its own for the transaction; a statement that fails, or a call stopped in the middle,
      // discards it (which rolls the transaction back).
      await withCallConnection(open.pool, call, async (db) => {
        await db.query('BEGIN');
        try {
          // The store's lock, as appends take it: no append to this stream interleaves with its deletion.
          await this.#runner.run(db, this.#sql.lockHead);
          const row = await this.#runner.row(db, this.#sql.findStream, [streamId]);
          if (row === undefined) throw new StreamNotFoundError(streamId);
          const sid = row[0] as number;
          await this.#runner.run(db, this.#sql.deleteStream, [sid]);
          await this.#runner.run(db, this.#sql.recordDeletion, [sid]);
        } catch (err) {
          await db.query('ROLLBACK').catch(() => {});
          throw err;
        }
        await commit(db, `deletion of stream '${streamId}'`);
      });
      // Deleted: no read finds its events any more. Their rows go now, in chunks, without the store's lock; should
      // that fail, the next deletion or the next open of the store finishes it.
      const removing = this.#removeAfter(open);
      await removing.catch((err: unknown) =>
        this.#logger.warn({ err, streamId }, 'removing the events of a deleted stream failed; it will be done later'),
      );
    });
  }

  /** `#removeDeletedStreams` once the one in flight is done: a node runs one at a time. */
  #removeAfter(open: OpenStore): Promise<void> {
    const removing = (this.#removing ?? Promise.resolve()).then(() => this.#removeDeletedStreams(open));
    this.#removing = removing.catch(() => {});
    return removing;
  }

  /** Removes the events and tag rows of every deleted stream, chunk by chunk, then its record (schema version 4). */
  async #removeDeletedStreams(open: OpenStore): Promise<void> {
    const run = (sql: string, values: unknown[]) => this.#runner.run(open.pool, sql, values);
    for (const [sid] of await this.#runner.rows(open.pool, this.#sql.deletedStreams)) {
      for (;;) {
        if (this.#state !== 'open') return;
        if ((await run(this.#sql.removeDeletedChunk, [sid, DELETION_CHUNK_EVENTS])) > 0) continue;
        // Nothing removed: all gone, or another node's chunk took these rows first and some may be left.
        if ((await run(this.#sql.forgetDeletion, [sid])) > 0) break;
        const pending = await this.#runner.row(open.pool, this.#sql.deletionPending, [sid]);
        if (pending?.[0] !== true) break; // finished by another node
      }
    }
  }

  async stats(call?: CallOptions): Promise<StoreStats> {
    return this.#call(async (_open, db) => {
      const row = (await this.#runner.row(db, this.#sql.stats))!;
      return { hasEvents: row[1] as boolean, lastPosition: row[0] as number, streamCount: row[2] as number };
    }, call);
  }

  async lastPosition(): Promise<number> {
    return this.#call(async (open) => (await this.#runner.row(open.pool, this.#sql.lastPosition))![0] as number);
  }

  onAppend(listener: AppendListener): () => void {
    // Wrapped, so the same function registered twice is two registrations, each removed by its own remover.
    const entry: AppendListener = (events, hintedPosition) => listener(events, hintedPosition);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  async recordSnapshot(snapshot: SnapshotInput, call?: CallOptions): Promise<void> {
    return this.#call((open, db) => open.snapshots.record(db, validateSnapshotInput(snapshot), nowUs()), call);
  }

  async readSnapshot(
    sourceUuid: string,
    streamUuid: string,
    version: number,
    call?: CallOptions,
  ): Promise<SnapshotRecord> {
    return this.#call((open, db) => {
      const key = validateSnapshotKey(sourceUuid, streamUuid, version);
      return open.snapshots.read(db, key.sourceUuid, key.streamUuid, key.version);
    }, call);
  }

  async deleteSnapshot(sourceUuid: string, streamUuid: string, version: number, call?: CallOptions): Promise<void> {
    return this.#call((open) => {
      const key = validateSnapshotKey(sourceUuid, streamUuid, version);
      return writeOnce(
        open.pool,
        `deletion of snapshot ${key.sourceUuid}/${key.streamUuid}/${key.version}`,
        (db) => open.snapshots.delete(db, key.sourceUuid, key.streamUuid, key.version),
        call,
      );
    });
  }

  async listSnapshots(query?: SnapshotQuery, call?: CallOptions): Promise<SnapshotRecord[]> {
    return this.#call((open, db) => open.snapshots.list(db, validateSnapshotQuery(query)), call);
  }

  async saveSubscription(spec: SubscriptionSpec, call?: CallOptions): Promise<SubscriptionRecord> {
    return this.#call((open, db) => open.subscriptions.save(db, validateSubscriptionSpec(spec), nowUs()), call);
  }

  async removeSubscription(
    type: SubscriptionType,
    selector: SubscriptionSelector,
    name: string,
    call?: CallOptions,
  ): Promise<void> {
    return this.#call((open) => {
      const validType = validateSubscriptionType(type);
      const validSelector = validateSelector(validType, selector);
      const validName = validateSubscriptionName(name);
      return writeOnce(
        open.pool,
        `removal of subscription '${validName}'`,
        (db) => open.subscriptions.remove(db, validType, validSelector, validName),
        call,
      );
    });
  }

  async getSubscription(name: string, call?: CallOptions): Promise<SubscriptionRecord | undefined> {
    return this.#call((open, db) => open.subscriptions.get(db, validateSubscriptionName(name)), call);
  }

  async listSubscriptions(call?: CallOptions): Promise<SubscriptionRecord[]> {
    return this.#call((open, db) => open.subscriptions.list(db), call);
  }

  async saveCheckpoint(name: string, position: number, createdAt?: string): Promise<void> {
    return this.#call((open) =>
      open.subscriptions.saveCheckpoint(
        open.pool,
        validateSubscriptionName(name),
        validateNonNegativeInteger(position, 'position'),
        validateCreatedAt(createdAt),
      ),
    );
  }

  async parkEvent(parked: Omit<ParkedEvent, 'parkedAt'>, createdAt?: string): Promise<void> {
    return this.#call((open) =>
      open.subscriptions.park(open.pool, validateParkedEvent(parked), nowUs(), validateCreatedAt(createdAt)),
    );
  }

  async listParked(name: string, call?: CallOptions): Promise<ParkedEvent[]> {
    return this.#call((open, db) => open.subscriptions.listParked(db, validateSubscriptionName(name)), call);
  }

  async unparkEvents(name: string, positions?: readonly number[]): Promise<ParkedEvent[]> {
    return this.#call((open) =>
      open.subscriptions.unpark(
        open.pool,
        validateSubscriptionName(name),
        positions === undefined ? undefined : validatePositions(positions),
      ),
    );
  }

  async readPositions(positions: readonly number[]): Promise<RecordedEvent[]> {
    return this.#call((open) => open.filters.readPositions(open.pool, validatePositions(positions)));
  }

  async acquireSubscriptionLease(name: string): Promise<SubscriptionLease | undefined> {
    return this.#call((open) => open.leases.acquire(validateSubscriptionName(name)));
  }

  /**
   * Healthy while open and the notification connection is up: that connection is kept up always and its heartbeat
   * drops it within seconds when the server stops answering, so it tells whether the server can be reached.
   */
  health(): StoreHealth {
    if (this.#state !== 'open' || this.#open === undefined) return { ok: false, detail: this.#state };
    if (!this.#open.listener.connected) return { ok: false, detail: 'the database cannot be reached' };
    return { ok: true };
  }

  /** This node committed `events`: they go to listeners as they are. */
  #committed(events: readonly RecordedEvent[]): void {
    const last = events.at(-1);
    if (last !== undefined) this.#announced = Math.max(this.#announced, last.position);
    this.#notify(events);
  }

  /** A commit somewhere (maybe here) reached `lastPosition`; unknown after a reconnect. */
  #hint(lastPosition: number | undefined): void {
    if (lastPosition !== undefined && lastPosition <= this.#announced) return; // ours, announced with its events
    this.#notify([], lastPosition);
  }

  #notify(events: readonly RecordedEvent[], hintedPosition?: number): void {
    for (const listener of this.#listeners) {
      try {
        listener(events, hintedPosition);
      } catch (err) {
        this.#logger.error({ err }, 'append listener failed');
      }
    }
  }

  /**
   * Runs `fn` on the open store and maps its failure to a GaterError. Its statements run on `db`: the pool, or, for a
   * call whose caller gave a deadline or a signal, a connection of its own that stops the call with it (see
   * call-connection.ts).
   */
  async #call<T>(fn: (open: OpenStore, db: Queryable) => Promise<T> | T, call?: CallOptions): Promise<T> {
    const open = this.#requireOpen(false);
    try {
      if (call?.deadlineAt === undefined && call?.signal === undefined) return await fn(open, open.pool);
      return await withCallConnection(open.pool, call, async (db) => fn(open, db));
    } catch (err) {
      throw storageError(err);
    }
  }

  #requireOpen(forWrite: boolean): OpenStore {
    if (this.#state === 'open' || (this.#state === 'closing' && !forWrite && this.#open !== undefined)) {
      return this.#open!;
    }
    throw this.#state === 'new' || this.#state === 'opening'
      ? new UnavailableError(`store '${this.storeId}' is not open`, { storeId: this.storeId })
      : this.#closedError();
  }

  #closedError(): UnavailableError {
    return new UnavailableError(`store '${this.storeId}' is closed`, { storeId: this.storeId });
  }
}

/** The fixed statements of a store, given its quoted schema name. */
function statements(s: string) {
  return {
    readForward: pageCutSql(
      `SELECT ${eventColumns('$1::text')} FROM ${s}.events e ` +
        `WHERE e.sid = (SELECT sid FROM ${s}.streams WHERE stream_id = $1) AND e.version >= $2 ` +
        'ORDER BY e.version LIMIT $3',
      'version',
    ),
    readBackward: pageCutSql(
      `SELECT ${eventColumns('$1::text')} FROM ${s}.events e ` +
        `WHERE e.sid = (SELECT sid FROM ${s}.streams WHERE stream_id = $1) AND e.version <= $2 ` +
        'ORDER BY e.version DESC LIMIT $3',
      'version DESC',
    ),
    streamVersion:
      `SELECT max(e.version) FROM ${s}.events e ` +
      `WHERE e.sid = (SELECT sid FROM ${s}.streams WHERE stream_id = $1)`,
    listStreams:
      `SELECT stream_id, version FROM (SELECT s.stream_id, ` +
      `(SELECT max(e.version) FROM ${s}.events e WHERE e.sid = s.sid) AS version FROM ${s}.streams s) v ` +
      'WHERE version IS NOT NULL ORDER BY stream_id',
    // One statement, so the three figures come from one snapshot.
    stats:
      `SELECT h.next_position - 1, EXISTS (SELECT 1 FROM ${s}.events), ` +
      `(SELECT count(*) FROM ${s}.streams)::integer FROM ${s}.store_head h`,
    lastPosition: `SELECT next_position - 1 FROM ${s}.store_head`,
    lockHead: `SELECT next_position FROM ${s}.store_head FOR UPDATE`,
    findStream: `SELECT sid FROM ${s}.streams WHERE stream_id = $1`,
    deleteStream: `DELETE FROM ${s}.streams WHERE sid = $1`,
    recordDeletion: `INSERT INTO ${s}.deleted_streams (sid) VALUES ($1) ON CONFLICT DO NOTHING`,
    deletedStreams: `SELECT sid FROM ${s}.deleted_streams ORDER BY sid`,
    // Up to $2 events of deleted stream $1 and their tag rows, in one statement. Each tag row is found through the
    // event's own tag list, by primary key: no scan of the tags table. Every tag is looked for, the first included:
    // events written before schema version 2 have it there.
    removeDeletedChunk:
      `WITH chunk AS (SELECT e.position, e.tags FROM ${s}.events e WHERE e.sid = $1 ORDER BY e.version LIMIT $2), ` +
      `tags AS (DELETE FROM ${s}.event_extra_tags t USING (SELECT j.tag, c.position FROM chunk c, ` +
      'json_array_elements_text(c.tags::json) AS j(tag) WHERE c.tags IS NOT NULL) d ' +
      'WHERE t.tag = d.tag AND t.position = d.position) ' +
      `DELETE FROM ${s}.events e USING chunk c WHERE e.position = c.position`,
    // Only once no event of it is left, whoever removed them.
    forgetDeletion:
      `DELETE FROM ${s}.deleted_streams d WHERE d.sid = $1 ` +
      `AND NOT EXISTS (SELECT 1 FROM ${s}.events e WHERE e.sid = $1)`,
    deletionPending: `SELECT EXISTS (SELECT 1 FROM ${s}.deleted_streams WHERE sid = $1)`,
  };
}

/**
 * Commits the transaction open on `client`. A commit whose answer was lost may have been written (see
 * mayHaveCommitted): it fails with `outcomeUnknown(what)`, so that the caller reads before repeating it, rather than
 * as a plain `unavailable` that invites a retry answered `not_found`.
 */
async function commit(db: Queryable, what: string): Promise<void> {
  try {
    await db.query('COMMIT');
  } catch (err) {
    throw mayHaveCommitted(err) ? outcomeUnknown(what, err) : err;
  }
}

function nowUs(): number {
  return Date.now() * 1000;
}
