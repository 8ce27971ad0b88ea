/**
 * The events table's columns as SELECTs return them (rows as arrays, in `eventColumns` order) and their decoding into
 * RecordedEvents, plus the events of a commit built from what was written, for append listeners. Both backends lay
 * out their events tables alike, so they share this.
 */
import type { EventMetadata, RecordedEvent } from './types.ts';
import { DEFAULT_CONTENT_TYPE, type PreparedEvent } from './validate.ts';

/**
 * The SELECT list of an event read. `stream` is the expression giving the stream id: `s.stream_id` when the query
 * joins `streams s`, or a parameter when every row comes from one known stream.
 */
export function eventColumns(stream: string): string {
  return (
    `e.position, ${stream}, e.version, e.event_id, e.event_type, e.data, e.metadata, e.tags, e.epoch_us, ` +
    'e.data_content_type, e.metadata_content_type'
  );
}

/** The number of columns `eventColumns` selects. */
export const EVENT_COLUMN_COUNT = 11;

/** Turns rows into events. Keeps the last timestamp it formatted: the events of one commit share theirs. */
export class EventDecoder {
  #lastEpochUs = -1;
  #lastTimestamp = '';

  /** Decodes rows, each an array starting at column `offset` (queries may put other columns first). */
  decodeAll(rows: readonly unknown[], offset = 0): RecordedEvent[] {
    const events: RecordedEvent[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) events[i] = this.decode(rows[i] as readonly unknown[], offset);
    return events;
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
