/**
 * Durable records of persistent subscriptions: their definitions, checkpoints and parked events. The delivery logic
 * lives in the subscription engine; this is only its storage.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { GaterError } from '../../errors/index.ts';
import type {
  ParkedEvent,
  SubscriptionOptions,
  SubscriptionRecord,
  SubscriptionSelector,
  SubscriptionType,
} from '../types.ts';
import { canonicalJson, type ValidSubscriptionSpec } from '../validate.ts';
import { isoTimestamp } from '../event-rows.ts';
import { subscriptionNotFound } from '../store-errors.ts';

interface SubscriptionRow {
  name: string;
  type: string;
  selector: string;
  start_from: number;
  options: string;
  checkpoint: number;
  created_epoch_us: number;
}

interface ParkedRow {
  subscription: string;
  position: number;
  event_id: string;
  stream_id: string;
  deliveries: number;
  reason: string;
  parked_epoch_us: number;
}

const SUBSCRIPTION_COLUMNS = 'name, type, selector, start_from, options, checkpoint, created_epoch_us';
const PARKED_COLUMNS = 'subscription, position, event_id, stream_id, deliveries, reason, parked_epoch_us';

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
    this.#checkpoint = db.prepare('UPDATE subscriptions SET checkpoint = max(checkpoint, ?) WHERE name = ?');
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
  }

  /**
   * Saves a definition. The same (type, selector, name) again returns the stored record unchanged; the same name
   * with another type or selector is `conflict`.
   */
  save(spec: ValidSubscriptionSpec, epochUs: number): SubscriptionRecord {
    const selector = canonicalJson(spec.selector);
    const existing = this.#get.get(spec.name) as SubscriptionRow | undefined;
    if (existing !== undefined) {
      if (existing.type === spec.type && existing.selector === selector) return toRecord(existing);
      throw new GaterError(
        'conflict',
        `subscription '${spec.name}' already exists with type ${existing.type} and selector ${existing.selector}`,
        { name: spec.name },
      );
    }
    const options = JSON.stringify(spec.options);
    this.#insert.run(spec.name, spec.type, selector, spec.startFrom, options, epochUs);
    return toRecord({
      name: spec.name,
      type: spec.type,
      selector,
      start_from: spec.startFrom,
      options,
      checkpoint: -1,
      created_epoch_us: epochUs,
    });
  }

  /** Removes a definition with its checkpoint and parked events. Throws `not_found`. */
  remove(type: SubscriptionType, selector: SubscriptionSelector, name: string): void {
    const existing = this.#get.get(name) as SubscriptionRow | undefined;
    if (existing === undefined || existing.type !== type || existing.selector !== canonicalJson(selector)) {
      throw subscriptionNotFound(name);
    }
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      this.#unparkAll.all(name);
      this.#delete.run(name);
      this.#db.exec('COMMIT');
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  get(name: string): SubscriptionRecord | undefined {
    const row = this.#get.get(name) as SubscriptionRow | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  list(): SubscriptionRecord[] {
    return this.#list.all().map((row) => toRecord(row as unknown as SubscriptionRow));
  }

  /** Moves the checkpoint to `position` unless it is already there or further. Throws `not_found`. */
  saveCheckpoint(name: string, position: number): void {
    if (this.#checkpoint.run(position, name).changes === 0) throw subscriptionNotFound(name);
  }

  /** Parks an event (again: updates its deliveries and reason). Throws `not_found` for an unknown subscription. */
  park(parked: Omit<ParkedEvent, 'parkedAt'>, epochUs: number): void {
    this.#requireExists(parked.subscription);
    this.#park.run(
      parked.subscription,
      parked.position,
      parked.eventId,
      parked.streamId,
      parked.deliveries,
      parked.reason,
      epochUs,
    );
  }

  listParked(name: string): ParkedEvent[] {
    this.#requireExists(name);
    return this.#listParked.all(name).map((row) => toParked(row as unknown as ParkedRow));
  }

  /** Removes parked events (all when `positions` is absent) and returns them, by position. */
  unpark(name: string, positions?: readonly number[]): ParkedEvent[] {
    this.#requireExists(name);
    const rows =
      positions === undefined ? this.#unparkAll.all(name) : this.#unparkSome.all(name, JSON.stringify(positions));
    return rows.map((row) => toParked(row as unknown as ParkedRow)).sort((a, b) => a.position - b.position);
  }

  #requireExists(name: string): void {
    if (this.#get.get(name) === undefined) throw subscriptionNotFound(name);
  }
}

function toRecord(row: SubscriptionRow): SubscriptionRecord {
  return {
    type: row.type as SubscriptionType,
    selector: JSON.parse(row.selector) as SubscriptionSelector,
    name: row.name,
    startFrom: row.start_from,
    options: JSON.parse(row.options) as Required<SubscriptionOptions>,
    checkpoint: row.checkpoint,
    createdAt: isoTimestamp(row.created_epoch_us),
  };
}

function toParked(row: ParkedRow): ParkedEvent {
  return {
    subscription: row.subscription,
    position: row.position,
    eventId: row.event_id,
    streamId: row.stream_id,
    deliveries: row.deliveries,
    reason: row.reason,
    parkedAt: isoTimestamp(row.parked_epoch_us),
  };
}
