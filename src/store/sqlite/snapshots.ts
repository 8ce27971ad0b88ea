/**
 * Snapshots of aggregates, keyed by (source, stream, version). Data and metadata are stored in columns of their own.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { SnapshotQuery, SnapshotRecord } from '../types.ts';
import type { ValidSnapshot } from '../validate.ts';
import { SNAPSHOT_COLUMNS, snapshotFromRow } from '../record-rows.ts';
import { snapshotDeleteNeedsVersion, snapshotNotFound } from '../store-errors.ts';
import { committing } from './database.ts';

export class SnapshotTable {
  readonly #upsert: StatementSync;
  readonly #read: StatementSync;
  readonly #readLatest: StatementSync;
  readonly #delete: StatementSync;
  readonly #listAll: StatementSync;
  readonly #listBySource: StatementSync;
  readonly #listByStream: StatementSync;
  readonly #listBySourceAndStream: StatementSync;

  constructor(db: DatabaseSync) {
    this.#upsert = db.prepare(
      `INSERT INTO snapshots (${SNAPSHOT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ` +
        'ON CONFLICT (source_uuid, stream_uuid, version) DO UPDATE SET ' +
        'data = excluded.data, metadata = excluded.metadata, created_epoch_us = excluded.created_epoch_us',
    );
    this.#read = db.prepare(
      `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE source_uuid = ? AND stream_uuid = ? AND version = ?`,
    );
    this.#readLatest = db.prepare(
      `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE source_uuid = ? AND stream_uuid = ? ORDER BY version DESC LIMIT 1`,
    );
    this.#delete = db.prepare('DELETE FROM snapshots WHERE source_uuid = ? AND stream_uuid = ? AND version = ?');
    const order = 'ORDER BY source_uuid, stream_uuid, version';
    this.#listAll = db.prepare(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots ${order}`);
    this.#listBySource = db.prepare(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE source_uuid = ? ${order}`);
    this.#listByStream = db.prepare(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE stream_uuid = ? ${order}`);
    this.#listBySourceAndStream = db.prepare(
      `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE source_uuid = ? AND stream_uuid = ? ${order}`,
    );
    for (const read of [this.#read, this.#readLatest, this.#listAll, this.#listBySource, this.#listByStream, this.#listBySourceAndStream]) {
      read.setReturnArrays(true);
    }
  }

  /** Records a snapshot, replacing one already recorded at the same key. */
  record(snapshot: ValidSnapshot, epochUs: number): void {
    const { sourceUuid, streamUuid, version, data, metadata } = snapshot;
    committing('recording a snapshot', () =>
      this.#upsert.run(sourceUuid, streamUuid, version, data, metadata, epochUs),
    );
  }

  /** `version` 0 reads the latest. Throws `not_found`. */
  read(sourceUuid: string, streamUuid: string, version: number): SnapshotRecord {
    const row = (
      version === 0 ? this.#readLatest.get(sourceUuid, streamUuid) : this.#read.get(sourceUuid, streamUuid, version)
    ) as unknown[] | undefined;
    if (row === undefined) throw snapshotNotFound(sourceUuid, streamUuid, version);
    return snapshotFromRow(row);
  }

  /** Throws `not_found` when there is no such snapshot, `invalid_argument` for version 0. */
  delete(sourceUuid: string, streamUuid: string, version: number): void {
    if (version === 0) throw snapshotDeleteNeedsVersion();
    const deleted = committing('deleting a snapshot', () => this.#delete.run(sourceUuid, streamUuid, version));
    if (deleted.changes === 0) {
      throw snapshotNotFound(sourceUuid, streamUuid, version);
    }
  }

  list(query: SnapshotQuery): SnapshotRecord[] {
    const { sourceUuid, streamUuid } = query;
    let rows: unknown[];
    if (sourceUuid !== undefined && streamUuid !== undefined) {
      rows = this.#listBySourceAndStream.all(sourceUuid, streamUuid);
    } else if (sourceUuid !== undefined) rows = this.#listBySource.all(sourceUuid);
    else if (streamUuid !== undefined) rows = this.#listByStream.all(streamUuid);
    else rows = this.#listAll.all();
    return rows.map((row) => snapshotFromRow(row as unknown[]));
  }
}

