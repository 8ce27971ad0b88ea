/**
 * Group commit for PostgreSQL: appends that arrive while a batch is being written share the next one, which is one
 * call of the store's `append_batch` function: one round trip and one commit for all of them. Each append is still
 * checked and answered on its own (the function reports an outcome per append). None is answered before the commit.
 *
 * Supplied event ids are not looked up on the first try: the unique index on event_id rejects a batch reusing one,
 * and only then is the batch written again with a lookup per append, which gives the offending append its answer.
 * A batch that fails as a whole because of one bad append (a server error such as a generated event id colliding)
 * is written again one append at a time, so that only that append fails. A batch that fails because the database
 * is unreachable fails every append with `unavailable`; whether it committed is then unknown, which is why only
 * appends carrying event ids are retried by the gateway (a repeat of a committed append writes nothing).
 */
import { AppendQueue, BATCH_CHARS_MAX, type QueuedAppend } from '../append-queue.ts';
import type pg from 'pg';
import type { Logger } from 'pino';
import { GaterError, InvalidArgumentError, WrongExpectedVersionError } from '../../errors/index.ts';
import type { AppendResult, RecordedEvent } from '../types.ts';
import type { PreparedAppend } from '../validate.ts';
import { writeOnce } from './call-connection.ts';
import { sqlState, storageError } from './database.ts';
import { storedContentType, type EventDecoder } from '../event-rows.ts';
import type { SqlRunner } from './sql-runner.ts';
import { jsonTextList, jsonTextsSql, scalarArrayLiteral, textArrayLiteral, uuidList, uuidsSql } from './array-parameters.ts';
import { MIN_SPLIT_BATCH_EVENTS } from './constants.ts';

/** An append waiting for its batch. */
export interface PendingAppend extends QueuedAppend {
  prepared: PreparedAppend;
  expectedVersion: number;
  /** Whether the caller supplied any event id (which may have been recorded before, or be in another append). */
  anyIdSupplied: boolean;
  resolve: (result: AppendResult) => void;
}

export interface AppendBatcherComponents {
  pool: pg.Pool;
  runner: SqlRunner;
  decoder: EventDecoder;
  logger: Logger;
  /** Called after each commit with its events in position order, when `wantsEvents()` says someone listens. */
  onCommitted: (events: RecordedEvent[]) => void;
  wantsEvents: () => boolean;
}

export interface AppendBatcherInit {
  /** The store's quoted schema name. */
  schema: string;
  /** Most events in one batch; an append larger than this still forms a batch of its own. */
  maxBatchEvents: number;
  /**
   * Batches sent at once. More than one lets the next batch travel to the server while the previous one commits; the
   * store's lock still writes them one after the other. Appends to different streams in flight together may then
   * commit in either order; a stream's appends never do.
   */
  maxConcurrentBatches: number;
}

/** SQLSTATE of a unique index refusing a row: here, an event id recorded before. */
const UNIQUE_VIOLATION = '23505';

/** Outcome codes of `append_batch` (see the migration). */
const WRITTEN = 0;
const REPEATED = 1;
const WRONG_VERSION = 2;
const ID_RECORDED = 3;

/** Whether the append's event ids were all generated (0), partly supplied (1) or all supplied (2). */
function idChecks(append: PendingAppend): number {
  return append.prepared.idsSupplied ? 2 : append.anyIdSupplied ? 1 : 0;
}

type BatchRow = [number[], (number | null)[], (number | null)[], (string | null)[], number];

export class AppendBatcher {
  readonly #c: AppendBatcherComponents;
  readonly #maxBatchEvents: number;
  readonly #maxConcurrent: number;
  readonly #sql: string;
  readonly #queue = new AppendQueue<PendingAppend>();
  /**
   * Streams written by the batches in flight. Batches in flight may commit in either order (each takes the store's
   * lock when its call reaches the server), so a stream is only ever in one of them: its appends are written in the
   * order they were made, and each expected version is checked against the version before it.
   */
  readonly #busyStreams = new Set<string>();
  #scheduled = false;
  /** Batches being written, and the appends they hold. */
  #runningBatches = 0;
  #runningAppends = 0;
  #lastAnnounced = -1;
  #idle: PromiseWithResolvers<void> | undefined;
  #batches = 0;
  #batchedAppends = 0;

  constructor(components: AppendBatcherComponents, init: AppendBatcherInit) {
    this.#c = components;
    this.#maxBatchEvents = init.maxBatchEvents;
    this.#maxConcurrent = init.maxConcurrentBatches;
    this.#sql =
      `SELECT r_status, r_version, r_position, r_detail, r_epoch_us FROM ${init.schema}.append_batch(` +
      // $19 is the batch's lock_timeout, set (for this statement's transaction only) in an argument, since arguments
      // are evaluated before the function runs and so before it waits for the store's lock (a CASE, since AND may
      // skip it).
      "$1::text[], $2::bigint[], $3::integer[], $4::integer[], $5::integer[], $6::boolean[], " +
      "CASE WHEN set_config('lock_timeout', $19::text, true) IS NULL THEN NULL ELSE $7::boolean END, " +
      `${uuidsSql(8)}, $9::text[], ${jsonTextsSql(10)}, ${jsonTextsSql(11)}, ${jsonTextsSql(12)}, ` +
      '$13::text[], $14::text[], $15::text[], $16::integer[], $17::text[], $18::integer[])';
  }

  /** Batches written and the appends they held, since open (their ratio is the mean batch size). */
  get counters(): { batches: number; appends: number } {
    return { batches: this.#batches, appends: this.#batchedAppends };
  }

  /** Appends waiting for a batch or being written. */
  get pending(): number {
    return this.#queue.length + this.#runningAppends;
  }

  enqueue(append: PendingAppend): void {
    this.#queue.push(append);
    this.#schedule();
  }

  /** Resolves once no append is waiting or being written. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }

  #schedule(): void {
    if (this.#scheduled || this.#runningBatches >= this.#maxConcurrent) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: every append that arrives in this turn of the event loop joins the batch.
    setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    while (this.#runningBatches < this.#maxConcurrent && this.#queue.length > 0) {
      const batch = this.#takeNext();
      // Every waiting append is to a stream a batch in flight is writing: they go when it is done.
      if (batch.length === 0) break;
      for (const append of batch) this.#busyStreams.add(append.streamId);
      this.#batches++;
      this.#batchedAppends += batch.length;
      this.#runningBatches++;
      this.#runningAppends += batch.length;
      void this.#run(batch).finally(() => {
        for (const append of batch) this.#busyStreams.delete(append.streamId);
        this.#runningBatches--;
        this.#runningAppends -= batch.length;
        if (this.#queue.length > 0) this.#schedule();
        else this.#resolveIdle();
      });
    }
    // What waited may all have been given up by its callers, leaving nothing to write.
    if (this.#queue.length === 0) this.#resolveIdle();
  };

  #resolveIdle(): void {
    if (this.#runningAppends > 0) return;
    this.#idle?.resolve();
    this.#idle = undefined;
  }

  /**
   * The next batch. What waits is spread over the free slots, so that batches overlap: while one holds the store's
   * lock, the next travels and has its parameters parsed, and the callers answered by the last one prepare their
   * next appends. A lone batch taking everything would leave the server idle while this process works, and this
   * process idle while the server works. Never into parts so small that their commits cost more than the overlap
   * gains.
   */
  #takeNext(): PendingAppend[] {
    const waiting = this.#queue.events;
    const freeSlots = this.#maxConcurrent - this.#runningBatches;
    const parts = Math.max(1, Math.min(freeSlots, Math.floor(waiting / MIN_SPLIT_BATCH_EVENTS)));
    const limit = Math.min(this.#maxBatchEvents, Math.ceil(waiting / parts));
    const batch = this.#queue.takeBatch(limit, this.#busyStreams);
    if (parts > 1 && batch.length > 0 && !this.#queue.hasAppendOutside(this.#busyStreams, streamsOf(batch))) {
      // What is left is all to streams being written or just taken (a few hot streams): no other batch could take
      // any of it now, so this one takes what fits rather than leave it to a batch after it.
      const room = this.#maxBatchEvents - eventsOf(batch);
      const charsRoom = BATCH_CHARS_MAX - charsOf(batch);
      return batch.concat(this.#queue.takeBatch(room, this.#busyStreams, true, charsRoom));
    }
    return batch;
  }

  /**
   * Writes `batch`; with `probeIds`, the function looks each supplied event id up before writing. Without, an id
   * recorded before fails the whole call on the unique index (writing nothing), and the batch is written again with
   * probes, which give each append its own answer.
   */
  async #run(batch: PendingAppend[], probeIds = false): Promise<void> {
    let row: BatchRow;
    try {
      row = await this.#write(batch, probeIds);
    } catch (err) {
      if (!probeIds && sqlState(err) === UNIQUE_VIOLATION) {
        await this.#run(batch, true);
        return;
      }
      if (batch.length > 1 && isDataError(err)) {
        // One append's data broke the whole call (a server error such as a generated event id colliding): write
        // each alone, so that only it fails.
        this.#c.logger.warn({ err, appends: batch.length }, 'append batch failed; writing its appends one by one');
        for (const append of batch) await this.#run([append], true);
        return;
      }
      // A server error (an SQLSTATE) ended the statement, and its transaction with it, and a connection never made
      // sent nothing: nothing was written. A connection lost with the statement sent, or a session the server ended,
      // may have committed or not: writeOnce made that an outcome unknown.
      const error = storageError(err);
      if (error.code !== 'invalid_argument') {
        this.#c.logger.error({ err, appends: batch.length }, 'append batch failed');
      }
      for (const append of batch) append.reject(error);
      return;
    }
    this.#answer(batch, row);
  }

  async #write(batch: readonly PendingAppend[], probeIds: boolean): Promise<BatchRow> {
    const streams: string[] = [];
    const expected: number[] = [];
    const counts: number[] = [];
    const tagCounts: number[] = [];
    const checks: number[] = [];
    const ids: string[] = [];
    const types: string[] = [];
    const data: (string | null)[] = [];
    const metadata: (string | null)[] = [];
    const tags: (string | null)[] = [];
    const firstTags: (string | null)[] = [];
    const dataTypes: (string | null)[] = [];
    const metadataTypes: (string | null)[] = [];
    const eventAppends: number[] = [];
    const tagNames: string[] = [];
    const tagEvents: number[] = [];
    const runBreaks = runBreaksOf(batch);
    for (let i = 0; i < batch.length; i++) {
      const append = batch[i]!;
      const events = append.prepared.events;
      streams.push(append.streamId);
      expected.push(append.expectedVersion);
      counts.push(events.length);
      checks.push(idChecks(append));
      let tagRows = 0;
      for (const e of events) {
        eventAppends.push(i + 1);
        ids.push(e.eventId);
        types.push(e.eventType);
        data.push(e.data);
        metadata.push(e.metadata);
        tags.push(e.tagsJson);
        dataTypes.push(storedContentType(e.dataContentType));
        metadataTypes.push(storedContentType(e.metadataContentType));
        // The first tag goes into the event's row; the others are rows of their own, each with the 1-based index
        // of its event in the flat arrays, as the function counts.
        const eventTags = e.tags;
        firstTags.push(eventTags.length > 0 ? eventTags[0]! : null);
        for (let t = 1; t < eventTags.length; t++) {
          tagNames.push(eventTags[t]!);
          tagEvents.push(ids.length);
          tagRows++;
        }
      }
      tagCounts.push(tagRows);
    }
    const params = [
      textArrayLiteral(streams),
      scalarArrayLiteral(expected),
      scalarArrayLiteral(counts),
      scalarArrayLiteral(tagCounts),
      scalarArrayLiteral(checks),
      scalarArrayLiteral(runBreaks),
      probeIds,
      uuidList(ids),
      textArrayLiteral(types),
      jsonTextList(data),
      jsonTextList(metadata),
      jsonTextList(tags),
      textArrayLiteral(firstTags),
      textArrayLiteral(dataTypes),
      textArrayLiteral(metadataTypes),
      scalarArrayLiteral(eventAppends),
      textArrayLiteral(tagNames),
      scalarArrayLiteral(tagEvents),
      String(lockTimeoutMs(batch, Date.now())),
    ];
    const row = await writeOnce(this.#c.pool, 'append', (client) => this.#c.runner.row(client, this.#sql, params));
    return row as BatchRow;
  }

  #answer(batch: readonly PendingAppend[], row: BatchRow): void {
    const [status, versions, positions, details] = row;
    const written: boolean[] = new Array(batch.length).fill(false);
    for (let i = 0; i < batch.length; i++) {
      const append = batch[i]!;
      const version = versions[i]!;
      switch (status[i]) {
        case WRITTEN:
          written[i] = true;
          append.resolve({ version, position: positions[i]! });
          break;
        case REPEATED:
          append.resolve({ version, position: positions[i]! });
          break;
        case WRONG_VERSION:
          append.reject(new WrongExpectedVersionError(append.streamId, append.expectedVersion, version));
          break;
        case ID_RECORDED:
          append.reject(new InvalidArgumentError(`events[${version}].eventId`, details[i] ?? 'is already recorded'));
          break;
        default:
          append.reject(new GaterError('internal', `unknown append outcome ${String(status[i])}`));
      }
    }
    if (!this.#c.wantsEvents()) return;
    try {
      this.#announce(batch, row, written);
    } catch (err) {
      // The appends are durable and answered; only the live hint is lost (readers catch up from the store).
      this.#c.logger.error({ err }, 'cannot announce committed events');
    }
  }

  #announce(batch: readonly PendingAppend[], row: BatchRow, written: readonly boolean[]): void {
    const [, versions, positions, , epochUs] = row;
    const decoder = this.#c.decoder;
    const events: RecordedEvent[] = [];
    for (let i = 0; i < batch.length; i++) {
      if (!written[i]) continue;
      const { streamId, prepared } = batch[i]!;
      const n = prepared.events.length;
      const firstVersion = versions[i]! - n + 1;
      const firstPosition = positions[i]! - n + 1;
      for (let j = 0; j < n; j++) {
        events.push(decoder.fromPrepared(prepared.events[j]!, streamId, firstVersion + j, firstPosition + j, epochUs));
      }
    }
    if (events.length === 0) return;
    // Batches sent at once may be answered out of order: a late one is announced as a bare hint, so listeners
    // still hear of events in position order (they read the store to learn what it held).
    if (events[0]!.position <= this.#lastAnnounced) {
      this.#c.onCommitted([]);
      return;
    }
    this.#lastAnnounced = events[events.length - 1]!.position;
    this.#c.onCommitted(events);
  }
}

function streamsOf(batch: readonly PendingAppend[]): Set<string> {
  return new Set(batch.map((append) => append.streamId));
}

function eventsOf(batch: readonly PendingAppend[]): number {
  let events = 0;
  for (const append of batch) events += append.prepared.events.length;
  return events;
}

function charsOf(batch: readonly PendingAppend[]): number {
  let chars = 0;
  for (const append of batch) chars += append.prepared.chars;
  return chars;
}

/**
 * Per append, whether the function must write the appends before it first (end its run, see migration 3): when an
 * append since the last such point was to the same stream, or carried one of its supplied event ids. The append then
 * sees those events: its stream's version, whether it repeats them, whether its ids are taken. Generated ids are not
 * tracked: no caller can know one before its append is answered.
 */
function runBreaksOf(batch: readonly PendingAppend[]): boolean[] {
  const breaks = new Array<boolean>(batch.length);
  const streams = new Set<string>();
  const ids = new Set<string>();
  for (let i = 0; i < batch.length; i++) {
    const append = batch[i]!;
    const events = append.prepared.events;
    let brk = streams.has(append.streamId);
    if (!brk && append.anyIdSupplied && ids.size > 0) brk = events.some((e) => ids.has(e.eventId));
    if (brk) {
      streams.clear();
      ids.clear();
    }
    breaks[i] = brk;
    streams.add(append.streamId);
    if (append.anyIdSupplied) for (const e of events) ids.add(e.eventId);
  }
  return breaks;
}

/**
 * Server errors caused by the data of the statement (class 22 data exception, 23 integrity constraint, 54 program
 * limit): one append's may break the whole batch. Every other failure (a read-only or shutting-down server, a lost
 * connection, a timeout, missing privileges) would fail each append alike, so writing them one by one would only
 * multiply the load on a server that cannot write.
 */
function isDataError(err: unknown): boolean {
  const state = sqlState(err) ?? '';
  return state.startsWith('22') || state.startsWith('23') || state.startsWith('54');
}

/**
 * How long a batch may wait for the store's lock: until the latest deadline of its appends (after it, no caller is
 * waiting for any of them), in milliseconds; 0 (no limit but the statement timeout) when one has no deadline. A
 * batch that waits longer fails with 55P03, written nothing: one node holding the lock no longer has calls given up
 * long ago queue behind it and commit later.
 */
function lockTimeoutMs(batch: readonly PendingAppend[], now: number): number {
  let latest = -Infinity;
  for (const append of batch) {
    if (append.deadlineAt === undefined) return 0;
    latest = Math.max(latest, append.deadlineAt);
  }
  return Math.max(1, Math.ceil(latest - now));
}

