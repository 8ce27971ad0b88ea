/**
 * The data model of an event store: events, streams, snapshots and subscriptions. Plain JSON-compatible shapes only,
 * so every value here can cross the wire unchanged.
 */

/** Expected-version sentinels, as the seed (and EventStoreDB) number them. */
export const ExpectedVersion = {
  /** The stream must not exist (its version is -1). */
  NoStream: -1,
  /** No check. */
  Any: -2,
  /** The stream must exist, at any version. */
  StreamExists: -4,
} as const;

/** The version of a stream that has no events. */
export const NO_STREAM_VERSION = -1;
/** The position reported by a store that has no events. */
export const NO_POSITION = -1;

export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  [key: string]: unknown;
}

/** An event as a caller proposes it. */
export interface NewEvent {
  /** UUID; generated (UUIDv7) when absent. Appending the same ids again is idempotent. */
  eventId?: string;
  eventType: string;
  /** Any JSON value. */
  data?: unknown;
  metadata?: EventMetadata;
  tags?: string[];
  /** Default `application/json`. */
  dataContentType?: string;
  /** Default `application/json`. */
  metadataContentType?: string;
}

/** An event as the store recorded it. */
export interface RecordedEvent {
  eventId: string;
  eventType: string;
  streamId: string;
  /** 0-based version of the event within its stream. */
  version: number;
  /** 0-based global position in the store: gap-free, in commit order. */
  position: number;
  data: unknown;
  metadata: EventMetadata;
  tags: string[];
  /** ISO-8601 UTC commit time. */
  timestamp: string;
  /** Commit time in microseconds since the Unix epoch. */
  epochUs: number;
  dataContentType: string;
  metadataContentType: string;
}

export interface AppendResult {
  /** Version of the last event appended (the stream's new version). */
  version: number;
  /** Global position of the last event appended. */
  position: number;
}

export type Direction = 'forward' | 'backward';

/**
 * A server-side filter over the store's events, used by `$all` reads, queries by type or tag, and subscriptions.
 * All given criteria must hold. `payload` is evaluated by the subscription engine, not by backends.
 */
export interface EventFilter {
  /** Exact stream id. */
  streamId?: string;
  /** Stream-id wildcard: `*` any run of characters, `?` one character (e.g. `greenhouse-*`). */
  streamPattern?: string;
  /** Only events whose stream version is at least this (used with `streamId`). */
  minVersion?: number;
  /** Event types, any of. */
  types?: string[];
  /** Tags; `tagMatch` says whether any or all must be present (default any). */
  tags?: string[];
  tagMatch?: 'any' | 'all';
}

export interface FilteredRead {
  events: RecordedEvent[];
  /**
   * The position up to which (inclusive) the store was scanned: the last event's position when the page is full,
   * otherwise the store's head at the time of the read. A reader that continues from `scannedTo + 1` never skips
   * an event and never sees one twice.
   */
  scannedTo: number;
}

export interface StreamInfo {
  streamId: string;
  version: number;
}

export interface StoreStats {
  hasEvents: boolean;
  /** Position of the last event, -1 when empty. */
  lastPosition: number;
  streamCount: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshots

export interface SnapshotInput {
  sourceUuid: string;
  streamUuid: string;
  /** Version of the aggregate the snapshot was taken at; must be >= 1 (0 means "latest" when reading). */
  version: number;
  data: unknown;
  metadata?: Record<string, unknown>;
}

export interface SnapshotRecord {
  sourceUuid: string;
  streamUuid: string;
  version: number;
  data: unknown;
  metadata: Record<string, unknown>;
  /** ISO-8601 UTC. */
  createdAt: string;
  createdEpochUs: number;
}

export interface SnapshotQuery {
  sourceUuid?: string;
  streamUuid?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Subscriptions

export const SUBSCRIPTION_TYPES = [
  'by_stream',
  'by_event_type',
  'by_event_pattern',
  'by_event_payload',
  'by_tags',
] as const;
export type SubscriptionType = (typeof SUBSCRIPTION_TYPES)[number];

/**
 * What a subscription selects, by type:
 * - `by_stream`: a stream id, or `$all` for every stream;
 * - `by_event_type`: an event type;
 * - `by_event_pattern`: a stream-id wildcard (`greenhouse-*`);
 * - `by_event_payload`: a JSON object matched as a deep partial against `data`; a field whose selector value is
 *   `{ "$exists": true }` matches any value;
 * - `by_tags`: a list of tags (any of them, unless `options.tagMatch` is `all`).
 */
export type SubscriptionSelector = string | string[] | Record<string, unknown>;

export interface SubscriptionOptions {
  /** Milliseconds an event may stay unacknowledged before it is delivered again. Default 30,000. */
  ackTimeoutMs?: number;
  /** Deliveries of one event before it is parked. Default 5. */
  maxDeliveries?: number;
  /** Events delivered but not yet acknowledged, at most. Default 100. */
  maxInFlight?: number;
  /** For `by_tags`: whether any or all tags must be present. Default `any`. */
  tagMatch?: 'any' | 'all';
}

export interface SubscriptionSpec {
  type: SubscriptionType;
  selector: SubscriptionSelector;
  /** Unique within a store for persistent subscriptions. */
  name: string;
  /**
   * Where delivery starts: for `by_stream` of one stream, a stream version; otherwise a global position.
   * Default 0 (the whole history).
   */
  startFrom?: number;
  options?: SubscriptionOptions;
}

export interface SubscriptionRecord {
  type: SubscriptionType;
  selector: SubscriptionSelector;
  name: string;
  startFrom: number;
  options: Required<SubscriptionOptions>;
  /** Position of the last event acknowledged in order (everything up to it is done); -1 before the first ack. */
  checkpoint: number;
  /** ISO-8601 UTC. */
  createdAt: string;
}

export interface ParkedEvent {
  subscription: string;
  position: number;
  eventId: string;
  streamId: string;
  deliveries: number;
  reason: string;
  /** ISO-8601 UTC. */
  parkedAt: string;
}
