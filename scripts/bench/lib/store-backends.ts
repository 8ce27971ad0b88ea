/**
 * The stores the benchmark can measure, each with its floor: the same rows written by the raw driver, batched and
 * synced like the store's own commits, as the bound the store is compared with.
 */
import type { EventStore } from '../../../src/store/event-store.ts';
import type { NewEvent } from '../../../src/store/types.ts';
import { SqliteEventStore } from '../../../src/store/sqlite/index.ts';
import { openStoreDatabase } from '../../../src/store/sqlite/database.ts';
import { prepareEvents } from '../../../src/store/validate.ts';

export interface FloorRun {
  events: number;
  seconds: number;
}

export interface BenchBackend {
  /** A fresh, open store keeping its data under `dir`. */
  open(dir: string, storeId: string): Promise<EventStore>;
  /**
   * Writes `batches` with the raw driver, batch k to stream k % `streams`, each batch one transaction, stopping
   * early after `maxSeconds`; returns what it wrote and the time it took.
   */
  floor(dir: string, batches: readonly (readonly NewEvent[])[], streams: number, maxSeconds: number): Promise<FloorRun>;
}

export const BACKENDS: Readonly<Record<string, BenchBackend>> = {
  sqlite: {
    async open(dir, storeId) {
      const store = new SqliteEventStore({}, { storeId, dataDir: dir, synchronous: 'FULL' });
      await store.open();
      return store;
    },

    async floor(dir, batches, streams, maxSeconds) {
      // Same file layout, schema, pragmas and lock as the store; rows serialised before the clock starts.
      const db = openStoreDatabase(`${dir}/floor.sqlite`, 'floor', 'FULL');
      const rows = batches.map((batch) => prepareEvents(batch).events);
      const insertStream = db.prepare('INSERT INTO streams (stream_id) VALUES (?) RETURNING sid');
      const sids = Array.from({ length: streams }, (_, k) => Number(insertStream.get(`floor-${k}`)!['sid']));
      const versions = new Array<number>(streams).fill(0);
      const insertEvent = db.prepare(
        'INSERT INTO events (position, sid, version, event_id, event_type, data, metadata, tags, epoch_us, ' +
          'data_content_type, metadata_content_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      const insertTag = db.prepare('INSERT INTO event_tags (tag, position) VALUES (?, ?)');
      const begin = db.prepare('BEGIN IMMEDIATE');
      const commit = db.prepare('COMMIT');
      let position = 0;
      (globalThis as { gc?: () => void }).gc?.();
      const started = performance.now();
      const deadline = started + maxSeconds * 1000;
      for (let k = 0; k < rows.length && performance.now() < deadline; k++) {
        const sid = sids[k % streams]!;
        let version = versions[k % streams]!;
        const epochUs = Date.now() * 1000;
        begin.run();
        for (const e of rows[k]!) {
          const { eventId, eventType, data, metadata, tagsJson } = e;
          insertEvent.run(position, sid, version++, eventId, eventType, data, metadata, tagsJson, epochUs, null, null);
          for (const tag of e.tags) insertTag.run(tag, position);
          position++;
        }
        commit.run();
        versions[k % streams] = version;
      }
      const seconds = (performance.now() - started) / 1000;
      db.close();
      return { events: position, seconds };
    },
  },
};
