/** Snapshots of aggregates, keyed by (source, stream, version). */
import type { SnapshotQuery, SnapshotRecord } from '../types.ts';
import type { ValidSnapshot } from '../validate.ts';
import { SNAPSHOT_COLUMNS, snapshotFromRow } from '../record-rows.ts';
import { snapshotDeleteNeedsVersion, snapshotNotFound } from '../store-errors.ts';
import type { Queryable, SqlRunner } from './sql-runner.ts';
const ORDER = 'ORDER BY source_uuid, stream_uuid, version';

export class SnapshotTable {
  readonly #runner: SqlRunner;
  readonly #upsert: string;
  readonly #read: string;
  readonly #readLatest: string;
  readonly #delete: string;
  readonly #list: string;

  /** `schema`: the store's quoted schema name. */
  constructor(schema: string, runner: SqlRunner) {
    this.#runner = runner;
    const table = `${schema}.snapshots`;
    this.#upsert =
      `INSERT INTO ${table} (${SNAPSHOT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ` +
      'ON CONFLICT (source_uuid, stream_uuid, version) DO UPDATE SET ' +
      'data = excluded.data, metadata = excluded.metadata, created_epoch_us = excluded.created_epoch_us';
    this.#read = `SELECT ${SNAPSHOT_COLUMNS} FROM ${table} WHERE source_uuid = $1 AND stream_uuid = $2 AND version = $3`;
    this.#readLatest =
      `SELECT ${SNAPSHOT_COLUMNS} FROM ${table} WHERE source_uuid = $1 AND stream_uuid = $2 ORDER BY version DESC LIMIT 1`;
    this.#delete = `DELETE FROM ${table} WHERE source_uuid = $1 AND stream_uuid = $2 AND version = $3`;
    // A NULL parameter matches everything, so one statement serves every query shape.
    this.#list =
      `SELECT ${SNAPSHOT_COLUMNS} FROM ${table} WHERE ($1::text IS NULL OR source_uuid = $1) ` +
      `AND ($2::text IS NULL OR stream_uuid = $2) ${ORDER}`;
  }

  /** Records a snapshot, replacing one already recorded at the same key. */
  async record(db: Queryable, snapshot: ValidSnapshot, epochUs: number): Promise<void> {
    const { sourceUuid, streamUuid, version, data, metadata } = snapshot;
    await this.#runner.run(db, this.#upsert, [sourceUuid, streamUuid, version, data, metadata, epochUs]);
  }

  /** `version` 0 reads the latest. Throws `not_found`. */
  async read(db: Queryable, sourceUuid: string, streamUuid: string, version: number): Promise<SnapshotRecord> {
    const row =
      version === 0
        ? await this.#runner.row(db, this.#readLatest, [sourceUuid, streamUuid])
        : await this.#runner.row(db, this.#read, [sourceUuid, streamUuid, version]);
    if (row === undefined) throw snapshotNotFound(sourceUuid, streamUuid, version);
    return snapshotFromRow(row);
  }

  /** Throws `not_found` when there is no such snapshot, `invalid_argument` for version 0. */
  async delete(db: Queryable, sourceUuid: string, streamUuid: string, version: number): Promise<void> {
    if (version === 0) throw snapshotDeleteNeedsVersion();
    if ((await this.#runner.run(db, this.#delete, [sourceUuid, streamUuid, version])) === 0) {
      throw snapshotNotFound(sourceUuid, streamUuid, version);
    }
  }

  async list(db: Queryable, query: SnapshotQuery): Promise<SnapshotRecord[]> {
    const rows = await this.#runner.rows(db, this.#list, [query.sourceUuid ?? null, query.streamUuid ?? null]);
    return rows.map(snapshotFromRow);
  }
}

