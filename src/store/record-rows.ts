/**
 * The snapshot, subscription and parked-event tables' columns as SELECTs return them (rows as arrays, in the order
 * of the column lists below) and their decoding into records. Both backends lay these tables out alike, as they do
 * the events table (see event-rows.ts), so they share this.
 */
import { isoTimestamp } from './event-rows.ts';
import type {
  ParkedEvent,
  SnapshotRecord,
  SubscriptionOptions,
  SubscriptionRecord,
  SubscriptionSelector,
  SubscriptionType,
} from './types.ts';
import { canonicalJson } from './validate.ts';

export const SNAPSHOT_COLUMNS = 'source_uuid, stream_uuid, version, data, metadata, created_epoch_us';
/** `selector` holds the selector as canonical JSON, `options` the options as JSON. */
export const SUBSCRIPTION_COLUMNS = 'name, type, selector, start_from, options, checkpoint, created_epoch_us';
export const PARKED_COLUMNS = 'subscription, position, event_id, stream_id, deliveries, reason, parked_epoch_us';

export function snapshotFromRow(row: readonly unknown[]): SnapshotRecord {
  const createdEpochUs = row[5] as number;
  return {
    sourceUuid: row[0] as string,
    streamUuid: row[1] as string,
    version: row[2] as number,
    data: JSON.parse(row[3] as string) as unknown,
    metadata: JSON.parse(row[4] as string) as Record<string, unknown>,
    createdAt: isoTimestamp(createdEpochUs),
    createdEpochUs,
  };
}

export function subscriptionFromRow(row: readonly unknown[]): SubscriptionRecord {
  return {
    type: row[1] as SubscriptionType,
    selector: JSON.parse(row[2] as string) as SubscriptionSelector,
    name: row[0] as string,
    startFrom: row[3] as number,
    options: JSON.parse(row[4] as string) as Required<SubscriptionOptions>,
    checkpoint: row[5] as number,
    createdAt: isoTimestamp(row[6] as number),
  };
}

/** The stored type of a subscription row, and its selector as the canonical JSON it was saved as. */
export function subscriptionDefinition(row: readonly unknown[]): { type: string; selector: string; createdEpochUs: number } {
  return { type: row[1] as string, selector: row[2] as string, createdEpochUs: row[6] as number };
}

/**
 * What a stored subscription row has other than `spec` (whose `selector` is given as canonical JSON), worded for a
 * `conflict` message ("startFrom 0 and options {...}"), or undefined when they are the same definition. The spec's
 * defaults are filled in by validation, so a save that omits a default and one that spells it out are the same;
 * options are compared as canonical JSON, so the order their keys were stored in does not matter.
 */
export function subscriptionDifference(
  row: readonly unknown[],
  spec: { type: string; startFrom: number; options: object },
  selector: string,
): string | undefined {
  const stored = subscriptionDefinition(row);
  if (stored.type !== spec.type || stored.selector !== selector) {
    return `type ${stored.type} and selector ${stored.selector}`;
  }
  const differences: string[] = [];
  if (Number(row[3]) !== spec.startFrom) differences.push(`startFrom ${Number(row[3])}`);
  const options = canonicalJson(JSON.parse(row[4] as string));
  if (options !== canonicalJson(spec.options)) differences.push(`options ${options}`);
  return differences.length === 0 ? undefined : differences.join(' and ');
}

/** The values of a parked event's row, in `PARKED_COLUMNS` order. */
export function parkedValues(parked: Omit<ParkedEvent, 'parkedAt'>, parkedEpochUs: number): (string | number)[] {
  return [parked.subscription, parked.position, parked.eventId, parked.streamId, parked.deliveries, parked.reason, parkedEpochUs];
}

export function parkedFromRow(row: readonly unknown[]): ParkedEvent {
  return {
    subscription: row[0] as string,
    position: row[1] as number,
    eventId: row[2] as string,
    streamId: row[3] as string,
    deliveries: row[4] as number,
    reason: row[5] as string,
    parkedAt: isoTimestamp(row[6] as number),
  };
}
