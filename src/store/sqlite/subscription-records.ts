/**
 * Durable records of persistent subscriptions: their definitions, checkpoints and parked events. The delivery logic
 * lives in the subscription engine; this is only its storage.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  PARKED_COLUMNS,
  parkedFromRow,
  parkedValues,
  SUBSCRIPTION_COLUMNS,
  subscriptionDefinition,
  subscriptionDifference,
  subscriptionFromRow,
} from '../record-rows.ts';
import { subscriptionConflict, subscriptionNotFound } from '../store-errors.ts';
import type { ParkedEvent, SubscriptionRecord, SubscriptionSelector, SubscriptionType } from '../types.ts';
import { canonicalJson, type ValidSubscriptionSpec } from '../validate.ts';
import { committing } from './database.ts';

export class SubscriptionRecords {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #list: StatementSync;
  readonly #insert: StatementSync;
  readonly #delete: StatementSync;
  readonly #checkpoint: StatementSync;
  readonly #park: StatementSync;
  readonly #listParked: StatementSync;
  readonly #unparkAll: StatementSync;
  readonly #unparkSome: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#get = db.prepare(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE name = ?`);
    this.#list = db.prepare(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY name`);
    this.#insert = db.prepare(`INSERT INTO subscriptions (${SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, -1, ?)`);
    this.#delete = db.prepare('DELETE FROM subscriptions WHERE name = ?');
    this.#checkpoint = db.prepare(
      'UPDATE subscriptions SET checkpoint = max(checkpoint, ?) WHERE name = ? AND (? IS NULL OR created_epoch_us = ?)',
    );
    this.#park = db.prepare(
      `INSERT INTO parked_events (${PARKED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ` +
        'ON CONFLICT (subscription, position) DO UPDATE SET deliveries = excluded.deliveries, ' +
        'reason = excluded.reason, parked_epoch_us = excluded.parked_epoch_us',
    );
    this.#listParked = db.prepare(
      `SELECT ${PARKED_COLUMNS} FROM parked_events WHERE subscription = ? ORDER BY position`,
    );
    this.#unparkAll = db.prepare(`DELETE FROM parked_events WHERE subscription = ? RETURNING ${PARKED_COLUMNS}`);
    this.#unparkSome = db.prepare(
      'DELETE FROM parked_events WHERE subscription = ? AND position IN (SELECT value FROM json_each(?)) ' +
        `RETURNING ${PARKED_COLUMNS}`,
    );
    for (const read of [this.#get, this.#list, this.#listParked, this.#unparkAll, this.#unparkSome]) {
      read.setReturnArrays(true);
    }
  }

  /**
   * Saves a definition. The same definition again (type, selector, startFrom and options, defaults filled in)
   * returns the stored record unchanged; the same name with any of them different is `conflict`, never a success
   * that quietly keeps the old settings.
   */
  save(spec: ValidSubscriptionSpec, epochUs: number): SubscriptionRecord {
    const selector = canonicalJson(spec.selector);
    const existing = this.#get.get(spec.name) as unknown[] | undefined;
    if (existing !== undefined) {
      const difference = subscriptionDifference(existing, spec, selector);
      if (difference === undefined) return subscriptionFromRow(existing);
      throw subscriptionConflict(spec.name, difference);
    }
    const options = JSON.stringify(spec.options);
    committing(`saving subscription '${spec.name}'`, () =>
      this.#insert.run(spec.name, spec.type, selector, spec.startFrom, options, epochUs),
    );
    return subscriptionFromRow([spec.name, spec.type, selector, spec.startFrom, options, -1, epochUs]);
  }

  /** Removes a definition with its checkpoint and parked events. Throws `not_found`. */
  remove(type: SubscriptionType, selector: SubscriptionSelector, name: string): void {
    const existing = this.#get.get(name) as unknown[] | undefined;
    const stored = existing === undefined ? undefined : subscriptionDefinition(existing);
    if (stored === undefined || stored.type !== type || stored.selector !== canonicalJson(selector)) {
      throw subscriptionNotFound(name);
    }
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      this.#unparkAll.all(name);
      this.#delete.run(name);
      committing(`removing subscription '${name}'`, () => this.#db.exec('COMMIT'));
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  get(name: string): SubscriptionRecord | undefined {
    const row = this.#get.get(name) as unknown[] | undefined;
    return row === undefined ? undefined : subscriptionFromRow(row);
  }

  list(): SubscriptionRecord[] {
    return this.#list.all().map((row) => subscriptionFromRow(row as unknown as unknown[]));
  }

  /**
   * Moves the checkpoint to `position` unless it is already there or further. Throws `not_found`, also when the
   * subscription of that name was created at another time than `createdEpochUs`.
   */
  saveCheckpoint(name: string, position: number, createdEpochUs?: number): void {
    const created = createdEpochUs ?? null;
    const moved = committing(`saving the checkpoint of subscription '${name}'`, () =>
      this.#checkpoint.run(position, name, created, created),
    );
    if (moved.changes === 0) throw subscriptionNotFound(name);
  }

  /**
   * Parks an event (again: updates its deliveries and reason). Throws `not_found` for an unknown subscription, or one
   * created at another time than `createdEpochUs`.
   */
  park(parked: Omit<ParkedEvent, 'parkedAt'>, epochUs: number, createdEpochUs?: number): void {
    const record = this.#get.get(parked.subscription) as unknown[] | undefined;
    const stale = createdEpochUs !== undefined && subscriptionDefinition(record ?? []).createdEpochUs !== createdEpochUs;
    if (record === undefined || stale) throw subscriptionNotFound(parked.subscription);
    committing(`parking an event of subscription '${parked.subscription}'`, () =>
      this.#park.run(...parkedValues(parked, epochUs)),
    );
  }

  listParked(name: string): ParkedEvent[] {
    this.#requireExists(name);
    return this.#listParked.all(name).map((row) => parkedFromRow(row as unknown as unknown[]));
  }

  /** Removes parked events (all when `positions` is absent) and returns them, by position. */
  unpark(name: string, positions?: readonly number[]): ParkedEvent[] {
    this.#requireExists(name);
    const rows = committing(`unparking events of subscription '${name}'`, () =>
      positions === undefined ? this.#unparkAll.all(name) : this.#unparkSome.all(name, JSON.stringify(positions)),
    );
    return rows.map((row) => parkedFromRow(row as unknown as unknown[])).sort((a, b) => a.position - b.position);
  }

  #requireExists(name: string): void {
    if (this.#get.get(name) === undefined) throw subscriptionNotFound(name);
  }
}

