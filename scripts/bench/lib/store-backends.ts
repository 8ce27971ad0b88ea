/**
 * The stores the benchmark can measure, each with its floor: the same rows written by the raw driver, batched and
 * synced like the store's own commits, as the bound the store is compared with.
 */
import pg from 'pg';
import type { EventStore } from '../../../src/store/event-store.ts';
import type { NewEvent } from '../../../src/store/types.ts';
import { PostgresEventStore, schemaNameFor, type PostgresEventStoreInit } from '../../../src/store/postgres/index.ts';
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
   * For stores shared by several nodes (PostgreSQL): what another node, in a process of its own, opens to share the
   * store `store` (opened by `open`): its store id on the same database, with the same options.
   */
  peerInit?(store: EventStore): PostgresEventStoreInit;
  /** What the backend ran on, for the report (e.g. the PostgreSQL version). */
  describe?(): Promise<string>;
  /**
   * Writes `batches` with the raw driver, batch k to stream k % `streams`, each batch one transaction, stopping
   * early after `maxSeconds`; returns what it wrote and the time it took.
   */
  floor(dir: string, batches: readonly (readonly NewEvent[])[], streams: number, maxSeconds: number): Promise<FloorRun>;
}

/** Store options the benchmark may set for PostgreSQL (for experiments; the store's defaults otherwise). */
export type PostgresBenchOptions = Pick<PostgresEventStoreInit, 'maxConcurrentBatches'>;

/**
 * The PostgreSQL backend, on the server at `url`: each store in a fresh schema (dropped by `cleanup`), the floor in a
 * schema of its own built by the same migrations. The session's `synchronous_commit` is the server's (on by default).
 * Every store, the peers' included, is opened with `options`.
 */
export function postgresBackend(
  url: string,
  options: PostgresBenchOptions = {},
): BenchBackend & { cleanup(): Promise<void> } {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const schemas = new Set<string>();
  let stores = 0;
  const fresh = (storeId: string) => {
    const id = `${storeId}-${process.pid}-${stores++}`;
    schemas.add(schemaNameFor(id));
    return id;
  };
  return {
    async open(_dir, storeId) {
      const store = new PostgresEventStore({}, { ...options, storeId: fresh(storeId), url });
      await store.open();
      return store;
    },

    peerInit(store) {
      return { ...options, storeId: store.storeId, url };
    },

    async describe() {
      const { rows } = await admin.query<{ v: string; sc: string }>(
        "SELECT version() AS v, current_setting('synchronous_commit') AS sc",
      );
      const set = Object.entries(options).map(([k, v]) => `, ${k}=${String(v)}`);
      return `${rows[0]!.v.split(' on ')[0]}, synchronous_commit=${rows[0]!.sc}${set.join('')}`;
    },

    async floor(_dir, batches, streams, maxSeconds) {
      // The store's own schema, written by plain multi-row INSERTs in one transaction per batch: the same rows,
      // indexes and commits, without the store's lock, checks, or group commit.
      const store = new PostgresEventStore({}, { storeId: fresh('floor'), url });
      await store.open();
      const s = `"${(store as PostgresEventStore).schema}"`;
      await store.close();
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => {}); // a failing query rejects; a dropped connection is reported there too
      await client.connect();
      const rows = batches.map((batch) => prepareEvents(batch).events);
      const sids: number[] = [];
      for (let k = 0; k < streams; k++) {
        const r = await client.query<{ sid: string }>(`INSERT INTO ${s}.streams (stream_id) VALUES ($1) RETURNING sid`, [`floor-${k}`]);
        sids.push(Number(r.rows[0]!.sid));
      }
      const versions = new Array<number>(streams).fill(0);
      const insertEvents = {
        name: 'floor-events',
        text:
          `INSERT INTO ${s}.events (position, sid, version, event_id, event_type, data, metadata, tags, first_tag, ` +
          'epoch_us) SELECT $1::bigint + u.k - 1, $2, $3::bigint + u.k - 1, u.id, u.t, u.d, u.m, u.g, u.f, $10 ' +
          'FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) ' +
          'WITH ORDINALITY AS u(id, t, d, m, g, f, k)',
      };
      const insertTags = {
        name: 'floor-tags',
        text: `INSERT INTO ${s}.event_extra_tags (tag, position) SELECT * FROM unnest($1::text[], $2::bigint[])`,
      };
      let position = 0;
      (globalThis as { gc?: () => void }).gc?.();
      const started = performance.now();
      const deadline = started + maxSeconds * 1000;
      for (let k = 0; k < rows.length && performance.now() < deadline; k++) {
        const batch = rows[k]!;
        const stream = k % streams;
        const tags: string[] = [];
        const tagPositions: number[] = [];
        batch.forEach((e, i) => e.tags.slice(1).forEach((t) => (tags.push(t), tagPositions.push(position + i))));
        await client.query('BEGIN');
        await client.query({
          ...insertEvents,
          values: [
            position, sids[stream], versions[stream], batch.map((e) => e.eventId), batch.map((e) => e.eventType),
            batch.map((e) => e.data), batch.map((e) => e.metadata), batch.map((e) => e.tagsJson),
            batch.map((e) => e.tags[0] ?? null), Date.now() * 1000,
          ],
        });
        if (tags.length > 0) await client.query({ ...insertTags, values: [tags, tagPositions] });
        await client.query('COMMIT');
        versions[stream] = versions[stream]! + batch.length;
        position += batch.length;
      }
      const seconds = (performance.now() - started) / 1000;
      await client.end();
      return { events: position, seconds };
    },

    async cleanup() {
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
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
