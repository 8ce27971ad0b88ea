/**
 * Writes one append inside the open batch transaction: recognises a retry of an earlier append, checks the expected
 * version and inserts the events and their tags, all inside a SAVEPOINT so that a failing append undoes only itself.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { GaterError, InvalidArgumentError, UnavailableError, toGaterError } from '../../errors/index.ts';
import { checkExpectedVersion } from '../expected-version.ts';
import type { AppendResult } from '../types.ts';
import type { QueuedAppend } from '../append-queue.ts';
import { DEFAULT_CONTENT_TYPE, type PreparedAppend, type PreparedEvent } from '../validate.ts';
import { sqliteErrorCode } from './database.ts';
import type { StreamIndex } from './stream-index.ts';

/** An append waiting for its batch. */
export interface PendingAppend extends QueuedAppend {
  prepared: PreparedAppend;
  expectedVersion: number;
  resolve: (result: AppendResult) => void;
}

/** What the open batch has assigned so far. */
export interface BatchCursor {
  /** Position the next event gets. */
  nextPosition: number;
  /** Commit time of every event of the batch. */
  epochUs: number;
}

/** An append that went through: its result, and where its events went (first position and version). */
export interface WrittenAppend {
  result: AppendResult;
  /** False when the append repeated an earlier one and wrote nothing. */
  wrote: boolean;
  firstPosition: number;
  firstVersion: number;
}

const SQLITE_CONSTRAINT_UNIQUE = 2067;
const EVENT_COLUMNS =
  '(position, sid, version, event_id, event_type, data, metadata, tags, epoch_us, ' +
  'data_content_type, metadata_content_type)';
const EVENT_ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const EVENT_ROW_VALUES = 11;
/** Events inserted by one statement when an append has that many: fewer calls into SQLite per event. */
const EVENTS_PER_INSERT = 16;
/** Tag rows inserted by one statement, likewise. */
const TAGS_PER_INSERT = 32;

export class AppendWriter {
  readonly #streams: StreamIndex;
  readonly #savepoint: StatementSync;
  readonly #release: StatementSync;
  readonly #rollbackTo: StatementSync;
  readonly #insertStream: StatementSync;
  readonly #insertEvent: StatementSync;
  readonly #insertEvents: StatementSync;
  readonly #insertTag: StatementSync;
  readonly #insertTags: StatementSync;
  /** Argument buffers of the multi-row inserts, reused. */
  readonly #eventArgs: SQLInputValue[] = new Array<SQLInputValue>(EVENTS_PER_INSERT * EVENT_ROW_VALUES);
  readonly #tagArgs: SQLInputValue[] = new Array<SQLInputValue>(TAGS_PER_INSERT * 2);
  readonly #findEventId: StatementSync;
  readonly #streamIdsFrom: StatementSync;
  readonly #streamName: StatementSync;

  constructor(db: DatabaseSync, streams: StreamIndex) {
    this.#streams = streams;
    this.#savepoint = db.prepare('SAVEPOINT append');
    this.#release = db.prepare('RELEASE append');
    this.#rollbackTo = db.prepare('ROLLBACK TO append');
    // An upsert, so that a stream row left without events can never block its stream.
    this.#insertStream = db.prepare(
      'INSERT INTO streams (stream_id) VALUES (?) ' +
        'ON CONFLICT (stream_id) DO UPDATE SET stream_id = excluded.stream_id RETURNING sid',
    );
    this.#insertStream.setReturnArrays(true);
    this.#insertEvent = db.prepare(`INSERT INTO events ${EVENT_COLUMNS} VALUES ${EVENT_ROW}`);
    this.#insertEvents = db.prepare(
      `INSERT INTO events ${EVENT_COLUMNS} VALUES ${Array(EVENTS_PER_INSERT).fill(EVENT_ROW).join(', ')}`,
    );
    this.#insertTag = db.prepare('INSERT INTO event_tags (tag, position) VALUES (?, ?)');
    this.#insertTags = db.prepare(
      `INSERT INTO event_tags (tag, position) VALUES ${Array(TAGS_PER_INSERT).fill('(?, ?)').join(', ')}`,
    );
    this.#findEventId = db.prepare('SELECT sid, version, position FROM events WHERE event_id = ?');
    this.#findEventId.setReturnArrays(true);
    this.#streamIdsFrom = db.prepare(
      'SELECT event_id, position FROM events WHERE sid = ? AND version >= ? ORDER BY version LIMIT ?',
    );
    this.#streamIdsFrom.setReturnArrays(true);
    this.#streamName = db.prepare('SELECT stream_id FROM streams WHERE sid = ?');
    this.#streamName.setReturnArrays(true);
  }

  /**
   * Writes `append` at `cursor` (which it advances) and stages the stream's new version. Throws the append's own
   * error (a GaterError) after undoing whatever it wrote; the batch's transaction stays open for the others, unless
   * SQLite itself rolled it back (the caller checks).
   */
  write(append: PendingAppend, cursor: BatchCursor): WrittenAppend {
    try {
      // Inside the try: a SAVEPOINT that fails is this append's failure too, explained like any other.
      this.#savepoint.run();
      const written = this.#write(append, cursor);
      this.#release.run();
      return written;
    } catch (err) {
      try {
        this.#rollbackTo.run();
        this.#release.run();
      } catch {
        // No savepoint was opened, or SQLite rolled the whole transaction back on its own (I/O error, disk full): the
        // batch checks for the latter.
      }
      throw this.#explain(err, append);
    }
  }

  #write(append: PendingAppend, cursor: BatchCursor): WrittenAppend {
    const { streamId, prepared } = append;
    const stream = this.#streams.get(streamId);
    const current = stream?.version ?? -1;
    if (prepared.idsSupplied) {
      // Before the version check: a retried append whose first attempt succeeded must get the same answer.
      const retry = this.#findRetry(append, stream?.sid);
      if (retry !== undefined) return retry;
    }
    checkExpectedVersion(streamId, append.expectedVersion, current);

    const sid = stream?.sid ?? (this.#insertStream.get(streamId) as unknown as [number])[0];
    const firstPosition = cursor.nextPosition;
    const firstVersion = current + 1;
    this.#insertRows(prepared.events, sid, firstPosition, firstVersion, cursor.epochUs);
    const position = firstPosition + prepared.events.length;
    const version = firstVersion + prepared.events.length;
    // Only now, with every row in: a throw above leaves the cursor and the stream index untouched.
    cursor.nextPosition = position;
    this.#streams.stage(streamId, { sid, version: version - 1 });
    return { result: { version: version - 1, position: position - 1 }, wrote: true, firstPosition, firstVersion };
  }

  /** Inserts the events and their tags, many rows per statement where there are enough of them. */
  #insertRows(events: readonly PreparedEvent[], sid: number, position: number, version: number, epochUs: number): void {
    const eventArgs = this.#eventArgs;
    const tagArgs = this.#tagArgs;
    let tagRows = 0;
    let i = 0;
    for (; i + EVENTS_PER_INSERT <= events.length; i += EVENTS_PER_INSERT) {
      for (let j = 0, a = 0; j < EVENTS_PER_INSERT; j++, a += EVENT_ROW_VALUES) {
        eventRow(eventArgs, a, events[i + j]!, position + i + j, sid, version + i + j, epochUs);
      }
      this.#insertEvents.run(...eventArgs);
    }
    for (; i < events.length; i++) {
      const e = events[i]!;
      this.#insertEvent.run(
        position + i,
        sid,
        version + i,
        e.eventId,
        e.eventType,
        e.data,
        e.metadata,
        e.tagsJson,
        epochUs,
        storedContentType(e.dataContentType),
        storedContentType(e.metadataContentType),
      );
    }
    for (let k = 0; k < events.length; k++) {
      const tags = events[k]!.tags;
      for (let t = 0; t < tags.length; t++) {
        tagArgs[tagRows * 2] = tags[t]!;
        tagArgs[tagRows * 2 + 1] = position + k;
        if (++tagRows === TAGS_PER_INSERT) {
          this.#insertTags.run(...tagArgs);
          tagRows = 0;
        }
      }
    }
    for (let r = 0; r < tagRows; r++) this.#insertTag.run(tagArgs[r * 2]!, tagArgs[r * 2 + 1]!);
  }

  /**
   * When the append's first id is already recorded, the append must repeat an earlier one exactly: the same ids in
   * the same order, consecutive in this stream. Returns the result for those events, or throws when it is not so.
   */
  #findRetry(append: PendingAppend, sid: number | undefined): WrittenAppend | undefined {
    const events = append.prepared.events;
    const first = this.#findEventId.get(events[0]!.eventId) as unknown as [number, number, number] | undefined;
    if (first === undefined) return undefined;
    const [foundSid, firstVersion, firstPosition] = first;
    if (foundSid !== sid) throw this.#recordedElsewhere(0, foundSid);
    const rows = this.#streamIdsFrom.all(sid, firstVersion, events.length) as unknown as [string, number][];
    for (let i = 0; i < events.length; i++) {
      const row = rows[i];
      if (row === undefined || row[0] !== events[i]!.eventId) {
        throw new InvalidArgumentError(
          `events[${i}].eventId`,
          `does not continue the earlier append of events[0].eventId (recorded at version ${firstVersion}); ` +
            'a retry must repeat the earlier events exactly',
        );
      }
    }
    const last = rows[events.length - 1]!;
    return {
      result: { version: firstVersion + events.length - 1, position: last[1] },
      wrote: false,
      firstPosition,
      firstVersion,
    };
  }

  /** Turns a failure into the append's error; for a duplicate event id, names the event and where it was recorded. */
  #explain(err: unknown, append: PendingAppend): GaterError {
    if (err instanceof GaterError) return err;
    if (sqliteErrorCode(err) === SQLITE_CONSTRAINT_UNIQUE && String((err as Error).message).includes('event_id')) {
      // Rolled back by now: the rows found are those of other appends.
      const sid = this.#streams.get(append.streamId)?.sid;
      const events = append.prepared.events;
      for (let i = 0; i < events.length; i++) {
        const found = this.#findEventId.get(events[i]!.eventId) as unknown as [number, number, number] | undefined;
        if (found === undefined) continue;
        if (found[0] !== sid) return this.#recordedElsewhere(i, found[0]);
        return new InvalidArgumentError(
          `events[${i}].eventId`,
          `is already recorded in this stream at version ${found[1]}; a retry must repeat the earlier events exactly`,
        );
      }
    }
    if (sqliteErrorCode(err) !== undefined) {
      return new UnavailableError(`storage failure: ${(err as Error).message}`, {}, { cause: err });
    }
    return toGaterError(err);
  }

  #recordedElsewhere(index: number, sid: number): InvalidArgumentError {
    const row = this.#streamName.get(sid) as unknown as [string] | undefined;
    return new InvalidArgumentError(
      `events[${index}].eventId`,
      `is already recorded in another stream${row === undefined ? '' : ` ('${row[0]}')`}`,
    );
  }
}

/** Puts one event's row into `args` from index `at`, in EVENT_COLUMNS order. */
function eventRow(
  args: SQLInputValue[],
  at: number,
  e: PreparedEvent,
  position: number,
  sid: number,
  version: number,
  epochUs: number,
): void {
  args[at] = position;
  args[at + 1] = sid;
  args[at + 2] = version;
  args[at + 3] = e.eventId;
  args[at + 4] = e.eventType;
  args[at + 5] = e.data;
  args[at + 6] = e.metadata;
  args[at + 7] = e.tagsJson;
  args[at + 8] = epochUs;
  args[at + 9] = storedContentType(e.dataContentType);
  args[at + 10] = storedContentType(e.metadataContentType);
}

/** NULL stands for the default content type: most events have it, and then it costs no bytes. */
function storedContentType(contentType: string): string | null {
  return contentType === DEFAULT_CONTENT_TYPE ? null : contentType;
}
