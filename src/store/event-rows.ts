/**
 * The events table's columns as SELECTs return them (rows as arrays, in `eventColumns` order) and their decoding into
 * RecordedEvents, plus the events of a commit built from what was written, for append listeners. Both backends lay
 * out their events tables alike, so they share this.
 */
import type { EventMetadata, FilteredRead, RecordedEvent } from './types.ts';
import { DEFAULT_CONTENT_TYPE, utf8Bytes, type PreparedEvent } from './validate.ts';

/** The columns of an event read, in the order `EventDecoder` reads them. */
const EVENT_COLUMNS = [
  'position', 'stream_id', 'version', 'event_id', 'event_type', 'data', 'metadata', 'tags', 'epoch_us',
  'data_content_type', 'metadata_content_type',
] as const;

/**
 * The SELECT list of an event read. `stream` is the expression giving the stream id: `s.stream_id` when the query
 * joins `streams s`, or a parameter when every row comes from one known stream.
 */
export function eventColumns(stream: string): string {
  return EVENT_COLUMNS.map((c) => (c === 'stream_id' ? `${stream} AS stream_id` : `e.${c}`)).join(', ');
}

/**
 * Most bytes one read answers with (estimated as the events encode in JSON), unless its first event alone is larger.
 * A page of large events is cut short there, so that no answer outgrows a relayed message (16 MiB) or what a
 * JavaScript string can hold for HTTP: 36 events of 15 MiB asked for at once answered `internal` (RangeError) after
 * holding 1.4 GB. A cut page reports its last event as scanned, so a reader continuing from there misses nothing.
 */
export const READ_PAGE_BYTES_MAX = 12 * 1024 * 1024;

/** Bytes an event's fields other than data, metadata and tags take encoded, at most, besides its names. */
const EVENT_ENVELOPE_BYTES = 320;

/** A page of decoded rows; `cut` when READ_PAGE_BYTES_MAX stopped it before the rows ran out. */
export interface DecodedPage {
  events: RecordedEvent[];
  cut: boolean;
}

/**
 * The answer of a filtered read of at most `limit` events from `page`, where `head` was the store's last position at
 * the read: a page that is full, or cut short by bytes, is scanned to its last event; any other reached the head.
 */
export function filteredRead({ events, cut }: DecodedPage, limit: number, head: number): FilteredRead {
  return { events, scannedTo: cut || events.length === limit ? events[events.length - 1]!.position : head };
}

/** Turns rows into events. Keeps the last timestamp it formatted: the events of one commit share theirs. */
export class EventDecoder {
  #lastEpochUs = -1;
  #lastTimestamp = '';
  /**
   * Rows handed to `decodePage` since this decoder was made: all of an array (the driver fetched them), those pulled
   * from an iterator. What a page cost in rows, for tests of the byte cut.
   */
  rowsFetched = 0;

  /** Decodes rows, each an array starting at column `offset` (queries may put other columns first). */
  decodeAll(rows: readonly unknown[], offset = 0): RecordedEvent[] {
    const events: RecordedEvent[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) events[i] = this.decode(rows[i] as readonly unknown[], offset);
    return events;
  }

  /**
   * Decodes rows (each from column `offset`; rows whose column `offset` is null hold no event and are passed over)
   * until the page would pass `maxBytes`; always at least one event. Given an iterator (SQLite's), it pulls no row
   * past the one that cuts the page, so a read of many large events never holds more than the page and one event.
   */
  decodePage(rows: Iterable<unknown>, offset = 0, maxBytes = READ_PAGE_BYTES_MAX): DecodedPage {
    const events: RecordedEvent[] = [];
    let bytes = 0;
    const fromArray = Array.isArray(rows);
    if (fromArray) this.rowsFetched += rows.length;
    for (const item of rows) {
      if (!fromArray) this.rowsFetched++;
      const row = item as readonly unknown[];
      if (row[offset] === null) continue;
      const size = encodedSize(row, offset);
      if (events.length > 0 && bytes + size > maxBytes) return { events, cut: true };
      bytes += size;
      events.push(this.decode(row, offset));
    }
    return { events, cut: false };
  }

  decode(row: readonly unknown[], o = 0): RecordedEvent {
    const epochUs = row[o + 8] as number;
    const data = row[o + 5] as string | null;
    const metadata = row[o + 6] as string | null;
    const tags = row[o + 7] as string | null;
    return {
      eventId: row[o + 3] as string,
      eventType: row[o + 4] as string,
      streamId: row[o + 1] as string,
      version: row[o + 2] as number,
      position: row[o] as number,
      data: data === null ? null : (JSON.parse(data) as unknown),
      metadata: metadata === null ? {} : (JSON.parse(metadata) as EventMetadata),
      tags: tags === null ? [] : (JSON.parse(tags) as string[]),
      timestamp: this.timestamp(epochUs),
      epochUs,
      dataContentType: (row[o + 9] as string | null) ?? DEFAULT_CONTENT_TYPE,
      metadataContentType: (row[o + 10] as string | null) ?? DEFAULT_CONTENT_TYPE,
    };
  }

  /** Builds a committed event from what was written, for append listeners, without reading it back. */
  fromPrepared(event: PreparedEvent, streamId: string, version: number, position: number, epochUs: number): RecordedEvent {
    return {
      eventId: event.eventId,
      eventType: event.eventType,
      streamId,
      version,
      position,
      // Parsed again from the stored text so that listeners never share objects with the appending caller.
      data: event.data === null ? null : (JSON.parse(event.data) as unknown),
      metadata: event.metadata === null ? {} : (JSON.parse(event.metadata) as EventMetadata),
      tags: [...event.tags],
      timestamp: this.timestamp(epochUs),
      epochUs,
      dataContentType: event.dataContentType,
      metadataContentType: event.metadataContentType,
    };
  }

  timestamp(epochUs: number): string {
    if (epochUs !== this.#lastEpochUs) {
      this.#lastEpochUs = epochUs;
      this.#lastTimestamp = isoTimestamp(epochUs);
    }
    return this.#lastTimestamp;
  }
}

/** ISO-8601 UTC with microseconds: `2025-01-31T12:00:00.123456Z`. */
export function isoTimestamp(epochUs: number): string {
  const ms = Math.floor(epochUs / 1000);
  const micros = epochUs - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/** NULL stands for the default content type: most events have it, and then it costs no bytes. */
export function storedContentType(contentType: string): string | null {
  return contentType === DEFAULT_CONTENT_TYPE ? null : contentType;
}

/**
 * About the bytes of a row's event encoded in JSON: its texts in UTF-8 as they are, its names, and the other fields.
 * Never less than `pageCutSql`'s measure of the same row, which the cut in SQL relies on.
 */
function encodedSize(row: readonly unknown[], o: number): number {
  const texts = utf8Bytes(row[o + 5] as string | null, row[o + 6] as string | null, row[o + 7] as string | null);
  return EVENT_ENVELOPE_BYTES + (row[o + 1] as string).length + (row[o + 4] as string).length + texts;
}

/**
 * `select` (a SELECT of `eventColumns`, ordered by `order` and limited) cut short in SQL near where `decodePage`
 * will cut it, so that the driver never fetches the rows a page of large events leaves out: without it, a read of
 * 10,000 events of 1 MB fetched 10 GB to answer 12 MiB. A row is kept while the texts (data, metadata, tags) of the
 * rows before the one before it take at most `maxBytes` in UTF-8: measured so, the rows kept always reach the row
 * `decodePage` cuts at, whenever rows were left out (the first two rows are always kept, for a first event that is
 * alone over `maxBytes`), and at most two rows past the page are fetched. `octet_length` reads a stored value's
 * size without fetching it. `order` names the columns of `eventColumns` (`position`, `version DESC`). One window
 * costs a fifth of the read rate of small events (two cost a third).
 */
export function pageCutSql(select: string, order: string, maxBytes = READ_PAGE_BYTES_MAX): string {
  const size = ['data', 'metadata', 'tags'].map((c) => `coalesce(octet_length(q.${c}), 0)`).join(' + ');
  return (
    `SELECT ${EVENT_COLUMNS.map((c) => `w.${c}`).join(', ')} FROM (SELECT q.*, sum(${size}) OVER ` +
    `(ORDER BY q.${order} ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING) AS bytes_before FROM (${select}) q) w ` +
    `WHERE coalesce(w.bytes_before, 0) <= ${maxBytes} ORDER BY w.${order}`
  );
}
