/**
 * The events table's columns as SELECTs return them, and their decoding into RecordedEvents. Statements that read
 * events return arrays (`setReturnArrays`), cheaper than one object per row, in the order of EVENT_COLUMNS.
 */
import type { SQLOutputValue } from 'node:sqlite';
import type { EventMetadata, RecordedEvent } from '../types.ts';
import { DEFAULT_CONTENT_TYPE, type PreparedEvent } from '../validate.ts';

/**
 * The SELECT list of an event read. `stream` is the expression giving the stream id: `s.stream_id` when the query
 * joins `streams s`, or a bound parameter when every row comes from one known stream.
 */
export function eventColumns(stream: string): string {
  return (
    `e.position, ${stream}, e.version, e.event_id, e.event_type, e.data, e.metadata, e.tags, e.epoch_us, ` +
    'e.data_content_type, e.metadata_content_type'
  );
}

/** Turns rows into events. Keeps the last timestamp it formatted: the events of one commit share theirs. */
export class EventDecoder {
  #lastEpochUs = -1;
  #lastTimestamp = '';

  decodeAll(rows: readonly unknown[]): RecordedEvent[] {
    const events: RecordedEvent[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) events[i] = this.decode(rows[i] as SQLOutputValue[]);
    return events;
  }

  decode(row: readonly SQLOutputValue[]): RecordedEvent {
    const epochUs = row[8] as number;
    const data = row[5] as string | null;
    const metadata = row[6] as string | null;
    const tags = row[7] as string | null;
    return {
      eventId: row[3] as string,
      eventType: row[4] as string,
      streamId: row[1] as string,
      version: row[2] as number,
      position: row[0] as number,
      data: data === null ? null : (JSON.parse(data) as unknown),
      metadata: metadata === null ? {} : (JSON.parse(metadata) as EventMetadata),
      tags: tags === null ? [] : (JSON.parse(tags) as string[]),
      timestamp: this.timestamp(epochUs),
      epochUs,
      dataContentType: (row[9] as string | null) ?? DEFAULT_CONTENT_TYPE,
      metadataContentType: (row[10] as string | null) ?? DEFAULT_CONTENT_TYPE,
    };
  }

  /** Builds the events of a commit from what was written, for append listeners, without reading them back. */
  fromPrepared(
    event: PreparedEvent,
    streamId: string,
    version: number,
    position: number,
    epochUs: number,
  ): RecordedEvent {
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
