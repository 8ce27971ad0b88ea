/**
 * The SQLite schema, as an append-only list of migrations. `PRAGMA user_version` records how many have been applied;
 * opening a store applies the missing ones, each in its own transaction. Never edit a released migration: add one.
 */
import type { DatabaseSync } from 'node:sqlite';
import { schemaTooNew } from '../store-errors.ts';

export interface Migration {
  /** The `user_version` the database has once this migration is applied (1, 2, ...). */
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events, streams, tags, snapshots, subscriptions',
    sql: `
      -- A stream's integer id keeps the events table and its indexes small. A stream's row lives as long as it has
      -- events; its version is max(version) of its events (one index lookup), so appends never update it.
      CREATE TABLE streams (
        sid       INTEGER PRIMARY KEY,
        stream_id TEXT NOT NULL UNIQUE
      );

      -- position is the rowid: the global order, assigned by the store, gap-free at commit time.
      -- Content types are NULL when they are the default (application/json).
      CREATE TABLE events (
        position              INTEGER PRIMARY KEY,
        sid                   INTEGER NOT NULL,
        version               INTEGER NOT NULL,
        event_id              TEXT NOT NULL,
        event_type            TEXT NOT NULL,
        data                  TEXT,
        metadata              TEXT,
        tags                  TEXT,
        epoch_us              INTEGER NOT NULL,
        data_content_type     TEXT,
        metadata_content_type TEXT
      );
      -- Every index also holds the rowid (position), so (x = ? AND position >= ?) is one range scan in position order.
      CREATE UNIQUE INDEX events_by_stream ON events (sid, version);
      CREATE UNIQUE INDEX events_by_id ON events (event_id);
      CREATE INDEX events_by_type ON events (event_type);

      CREATE TABLE event_tags (
        tag      TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (tag, position)
      ) WITHOUT ROWID;

      -- Small facts about the store: its id, and the highest position ever removed by a stream deletion (so that
      -- positions are never reused even when the newest events are deleted).
      CREATE TABLE store_meta (
        key   TEXT PRIMARY KEY,
        value ANY
      ) WITHOUT ROWID;

      CREATE TABLE snapshots (
        source_uuid      TEXT NOT NULL,
        stream_uuid      TEXT NOT NULL,
        version          INTEGER NOT NULL,
        data             TEXT NOT NULL,
        metadata         TEXT NOT NULL,
        created_epoch_us INTEGER NOT NULL,
        PRIMARY KEY (source_uuid, stream_uuid, version)
      ) WITHOUT ROWID;
      CREATE INDEX snapshots_by_stream ON snapshots (stream_uuid, version);

      CREATE TABLE subscriptions (
        name             TEXT PRIMARY KEY,
        type             TEXT NOT NULL,
        selector         TEXT NOT NULL,
        start_from       INTEGER NOT NULL,
        options          TEXT NOT NULL,
        checkpoint       INTEGER NOT NULL,
        created_epoch_us INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE parked_events (
        subscription    TEXT NOT NULL,
        position        INTEGER NOT NULL,
        event_id        TEXT NOT NULL,
        stream_id       TEXT NOT NULL,
        deliveries      INTEGER NOT NULL,
        reason          TEXT NOT NULL,
        parked_epoch_us INTEGER NOT NULL,
        PRIMARY KEY (subscription, position)
      ) WITHOUT ROWID;
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database up to SCHEMA_VERSION. Refuses a database written by a newer gater. */
export function migrate(db: DatabaseSync, storeId: string): void {
  const current = readUserVersion(db);
  if (current > SCHEMA_VERSION) {
    throw schemaTooNew(storeId, current, SCHEMA_VERSION);
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(migration.sql);
      // PRAGMA takes no bound parameters; the version is an integer from the list above.
      db.exec(`PRAGMA user_version = ${migration.version}`);
      db.exec('COMMIT');
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }
}

function readUserVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}
