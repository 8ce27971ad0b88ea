/**
 * Durable records of persistent subscriptions: their definitions, checkpoints and parked events, shared by every
 * node serving the store. The delivery logic lives in the subscription engine; this is only its storage.
 */
import {
  PARKED_COLUMNS,
  parkedFromRow,
  parkedValues,
  SUBSCRIPTION_COLUMNS,
  subscriptionDifference,
  subscriptionFromRow,
} from '../record-rows.ts';
import { subscriptionConflict, subscriptionNotFound } from '../store-errors.ts';
import type { ParkedEvent, SubscriptionRecord, SubscriptionSelector, SubscriptionType } from '../types.ts';
import { canonicalJson, type ValidSubscriptionSpec } from '../validate.ts';
import { sqlState } from './database.ts';
import type { Queryable, SqlRunner } from './sql-runner.ts';

/** SQLSTATE of a row whose foreign key points at nothing. */
const FOREIGN_KEY_VIOLATION = '23503';

export class SubscriptionRecords {
  readonly #runner: SqlRunner;
  readonly #get: string;
  readonly #list: string;
  readonly #insert: string;
  readonly #delete: string;
  readonly #checkpoint: string;
  readonly #park: string;
  readonly #listParked: string;
  readonly #unpark: string;
  readonly #exists: string;

  /** `schema`: the store's quoted schema name. */
  constructor(schema: string, runner: SqlRunner) {
    this.#runner = runner;
    const subs = `${schema}.subscriptions`;
    const parked = `${schema}.parked_events`;
    this.#get = `SELECT ${SUBSCRIPTION_COLUMNS} FROM ${subs} WHERE name = $1`;
    this.#list = `SELECT ${SUBSCRIPTION_COLUMNS} FROM ${subs} ORDER BY name COLLATE "C"`;
    // Nothing on conflict: a concurrent save of the same name (another node) is then read back and compared.
    this.#insert =
      `INSERT INTO ${subs} (${SUBSCRIPTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, -1, $6) ` +
      `ON CONFLICT (name) DO NOTHING RETURNING ${SUBSCRIPTION_COLUMNS}`;
    // Parked events go with it (ON DELETE CASCADE).
    this.#delete = `DELETE FROM ${subs} WHERE name = $1 AND type = $2 AND selector = $3`;
    // With a creation time ($3, $8), only the subscription created then: not one saved again under its name.
    this.#checkpoint =
      `UPDATE ${subs} SET checkpoint = greatest(checkpoint, $2) ` +
      'WHERE name = $1 AND ($3::bigint IS NULL OR created_epoch_us = $3)';
    this.#park =
      `INSERT INTO ${parked} (${PARKED_COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7 ` +
      `WHERE EXISTS (SELECT 1 FROM ${subs} WHERE name = $1 AND ($8::bigint IS NULL OR created_epoch_us = $8)) ` +
      'ON CONFLICT (subscription, position) DO UPDATE SET deliveries = excluded.deliveries, ' +
      'reason = excluded.reason, parked_epoch_us = excluded.parked_epoch_us';
    this.#listParked = `SELECT ${PARKED_COLUMNS} FROM ${parked} WHERE subscription = $1 ORDER BY position`;
    this.#unpark =
      `DELETE FROM ${parked} WHERE subscription = $1 AND ($2::bigint[] IS NULL OR position = ANY($2::bigint[])) ` +
      `RETURNING ${PARKED_COLUMNS}`;
    this.#exists = `SELECT 1 FROM ${subs} WHERE name = $1`;
  }

  /**
   * Saves a definition. The same definition again (type, selector, startFrom and options, defaults filled in)
   * returns the stored record unchanged; the same name with any of them different is `conflict`, never a success
   * that quietly keeps the old settings.
   */
  async save(db: Queryable, spec: ValidSubscriptionSpec, epochUs: number): Promise<SubscriptionRecord> {
    const selector = canonicalJson(spec.selector);
    const options = JSON.stringify(spec.options);
    const inserted = await this.#runner.row(db, this.#insert, [
      spec.name,
      spec.type,
      selector,
      spec.startFrom,
      options,
      epochUs,
    ]);
    if (inserted !== undefined) return subscriptionFromRow(inserted);
    const existing = await this.#runner.row(db, this.#get, [spec.name]);
    if (existing === undefined) return this.save(db, spec, epochUs); // removed in between: try again
    const difference = subscriptionDifference(existing, spec, selector);
    if (difference === undefined) return subscriptionFromRow(existing);
    throw subscriptionConflict(spec.name, difference);
  }

  /** Removes a definition with its checkpoint and parked events. Throws `not_found`. */
  async remove(db: Queryable, type: SubscriptionType, selector: SubscriptionSelector, name: string): Promise<void> {
    if ((await this.#runner.run(db, this.#delete, [name, type, canonicalJson(selector)])) === 0) throw subscriptionNotFound(name);
  }

  async get(db: Queryable, name: string): Promise<SubscriptionRecord | undefined> {
    const row = await this.#runner.row(db, this.#get, [name]);
    return row === undefined ? undefined : subscriptionFromRow(row);
  }

  async list(db: Queryable): Promise<SubscriptionRecord[]> {
    return (await this.#runner.rows(db, this.#list)).map(subscriptionFromRow);
  }

  /**
   * Moves the checkpoint to `position` unless it is already there or further. Throws `not_found`, also when the
   * subscription of that name was created at another time than `createdEpochUs`.
   */
  async saveCheckpoint(db: Queryable, name: string, position: number, createdEpochUs?: number): Promise<void> {
    const changed = await this.#runner.run(db, this.#checkpoint, [name, position, createdEpochUs ?? null]);
    if (changed === 0) throw subscriptionNotFound(name);
  }

  /**
   * Parks an event (again: updates its deliveries and reason). Throws `not_found` for an unknown subscription, or one
   * created at another time than `createdEpochUs`.
   */
  async park(db: Queryable, parked: Omit<ParkedEvent, 'parkedAt'>, epochUs: number, createdEpochUs?: number): Promise<void> {
    let changed: number;
    try {
      changed = await this.#runner.run(db, this.#park, [...parkedValues(parked, epochUs), createdEpochUs ?? null]);
    } catch (err) {
      // Removed by another node between the existence check and the insert's foreign key check.
      if (sqlState(err) === FOREIGN_KEY_VIOLATION) throw subscriptionNotFound(parked.subscription);
      throw err;
    }
    if (changed === 0) throw subscriptionNotFound(parked.subscription);
  }

  async listParked(db: Queryable, name: string): Promise<ParkedEvent[]> {
    await this.#requireExists(db, name);
    return (await this.#runner.rows(db, this.#listParked, [name])).map(parkedFromRow);
  }

  /** Removes parked events (all when `positions` is absent) and returns them, by position. */
  async unpark(db: Queryable, name: string, positions?: readonly number[]): Promise<ParkedEvent[]> {
    await this.#requireExists(db, name);
    const rows = await this.#runner.rows(db, this.#unpark, [name, positions ?? null]);
    return rows.map(parkedFromRow).sort((a, b) => a.position - b.position);
  }

  async #requireExists(db: Queryable, name: string): Promise<void> {
    if ((await this.#runner.row(db, this.#exists, [name])) === undefined) throw subscriptionNotFound(name);
  }
}

