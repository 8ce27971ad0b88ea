/**
 * Input validation shared by every store backend. Each function checks one kind of input, throws an
 * InvalidArgumentError naming the offending field (`events[2].eventType`) and returns the input in the normalised
 * form the backends store. Nothing here touches storage, so a call that fails validation writes nothing.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import { isUuid, normalizeUuid, uuidv7 } from '../util/uuid.ts';
import {
  SUBSCRIPTION_TYPES,
  type Direction,
  type EventFilter,
  type ParkedEvent,
  type SnapshotInput,
  type SnapshotQuery,
  type SubscriptionOptions,
  type SubscriptionSelector,
  type SubscriptionSpec,
  type SubscriptionType,
} from './types.ts';
import { ACK_TIMEOUT_MS, MAX_DELIVERIES, MAX_IN_FLIGHT, TAG_MATCH } from './subscription-defaults.ts';

/** Longest stream id, in UTF-16 code units. */
export const STREAM_ID_MAX_LENGTH = 512;
/** Most events in one append. */
export const EVENTS_PER_APPEND_MAX = 10_000;
/**
 * Most characters (UTF-16 code units) of JSON text in one append: its events' data, metadata and tags together. The
 * HTTP API and the relay already stop at 16 MiB a message; this bounds in-process callers, so that no append can
 * outgrow what one statement or one JavaScript string can carry.
 */
export const APPEND_TEXT_MAX_CHARS = 64 * 1024 * 1024;
/**
 * Most bytes of UTF-8 JSON text in one event: its data, metadata and tags together. Every event must be deliverable
 * through any node: a relayed answer or delivery is one frame of at most 16 MiB (rpc MAX_FRAME_BYTES), and the event's
 * other fields, at their longest and fully escaped, take less than the 64 KiB left. Without this bound an event
 * accepted through one node (the HTTP body limit is 16 MiB too) could be read back through none of the others.
 */
export const EVENT_TEXT_MAX_BYTES = 16 * 1024 * 1024 - 64 * 1024;
/** Longest event type, tag, content type or subscription name, in UTF-16 code units. */
export const NAME_MAX_LENGTH = 256;
/** Most tags on one event. */
export const TAGS_PER_EVENT_MAX = 64;
/** Most events one read returns. */
export const READ_COUNT_MAX = 10_000;
/** The stream selector of a `by_stream` subscription that selects every stream. */
export const ALL_STREAMS = '$all';
/** The content type recorded when an event does not name one. */
export const DEFAULT_CONTENT_TYPE = 'application/json';

/**
 * Deepest nesting of objects and arrays in a `by_event_payload` selector. Deep enough for any real payload (MongoDB
 * stops documents at 100 levels too), and shallow enough that every recursive walk of a selector (canonical JSON when
 * saving, the matcher, PostgreSQL's JSON parser) stays far from the stack limit: a deeper one is refused here as
 * invalid, instead of failing later as `internal`, at a depth that depends on how deep the stack already was.
 */
export const PAYLOAD_SELECTOR_DEPTH_MAX = 100;

/** Bounds of subscription options, inclusive. */
export const ACK_TIMEOUT_MS_RANGE = [1, 86_400_000] as const;
export const MAX_DELIVERIES_RANGE = [1, 1_000] as const;
export const MAX_IN_FLIGHT_RANGE = [1, 10_000] as const;

/**
 * An event checked and serialised for storage. The JSON texts (`data`, `metadata`, `tagsJson`) are JSON.stringify
 * output: the PostgreSQL backend relies on them holding no raw control character and no lone surrogate.
 */
export interface PreparedEvent {
  /** Lower-case UUID: the caller's, or a fresh UUIDv7. */
  eventId: string;
  eventType: string;
  /** JSON text of `data`; null when the event has none. */
  data: string | null;
  /** JSON text of `metadata`; null when the event has none. */
  metadata: string | null;
  /** Distinct tags, in the caller's order. */
  tags: readonly string[];
  /** JSON text of `tags`; null when there are none. */
  tagsJson: string | null;
  dataContentType: string;
  metadataContentType: string;
}

export interface PreparedAppend {
  events: PreparedEvent[];
  /** Characters of the events' JSON texts (data, metadata, tags): what the append weighs in a batch. */
  chars: number;
  /** Whether the caller supplied every event id, the condition for an append to be a retry of an earlier one. */
  idsSupplied: boolean;
}

/** Store ids name directories and database objects: letters, digits, `.`, `_`, `-`; a letter or digit first. */
const STORE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function validateStoreId(value: unknown, field = 'storeId'): string {
  if (typeof value !== 'string' || !STORE_ID_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      field,
      'must be 1 to 128 letters, digits, dots, underscores or dashes, starting with a letter or digit',
    );
  }
  return value;
}

export function validateStreamId(value: unknown, field = 'streamId'): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(field, 'must be a non-empty string');
  }
  if (value.length > STREAM_ID_MAX_LENGTH) {
    throw new InvalidArgumentError(field, `must be at most ${STREAM_ID_MAX_LENGTH} characters`);
  }
  if (value.charCodeAt(0) === 0x24 /* $ */) throw new InvalidArgumentError(field, "must not start with '$' (reserved)");
  return storable(value, field);
}

/**
 * `value`, refused if a backend cannot store it as it is: a UTF-16 surrogate without its pair (stored as UTF-8 it
 * becomes U+FFFD, so two different stream ids, event types or tags would be stored as one, and a name read back would
 * differ from the one written), or U+0000 (PostgreSQL text cannot hold it; SQLite would keep it but end some reads of
 * it there). Refused here, so that both backends answer alike, naming the field. Event data and metadata are safe:
 * JSON text escapes both.
 */
function storable(value: string, field: string): string {
  if (!value.isWellFormed()) throw new InvalidArgumentError(field, 'must be valid Unicode (a lone surrogate)');
  if (value.includes('\u0000')) throw new InvalidArgumentError(field, 'must not contain the character U+0000');
  return value;
}

/** Whether `value` passes `storable` (the cheap test on the paths every appended event takes). */
function isStorable(value: string): boolean {
  return value.isWellFormed() && !value.includes('\u0000');
}

/** Checks and serialises the events of one append; generates the missing event ids. */
export function prepareEvents(events: unknown, field = 'events'): PreparedAppend {
  if (!Array.isArray(events) || events.length === 0) throw new InvalidArgumentError(field, 'must be a non-empty array');
  if (events.length > EVENTS_PER_APPEND_MAX) {
    throw new InvalidArgumentError(field, `must hold at most ${EVENTS_PER_APPEND_MAX} events`);
  }
  const prepared: PreparedEvent[] = new Array(events.length);
  let idsSupplied = true;
  let chars = 0;
  const ids = events.length > 1 ? new Set<string>() : undefined;
  for (let i = 0; i < events.length; i++) {
    const event: unknown = events[i];
    if (!isRecord(event)) throw new InvalidArgumentError(`${field}[${i}]`, 'must be an object');
    let eventId: string;
    const suppliedId = event['eventId'];
    if (suppliedId === undefined) {
      eventId = uuidv7();
      idsSupplied = false;
    } else {
      if (!isUuid(suppliedId)) throw new InvalidArgumentError(`${field}[${i}].eventId`, 'must be a UUID');
      eventId = normalizeUuid(suppliedId);
      if (ids !== undefined) {
        if (ids.has(eventId)) throw duplicateId(events as unknown[], i, eventId, field);
        ids.add(eventId);
      }
    }
    const eventType = event['eventType'];
    if (typeof eventType !== 'string' || eventType.length === 0 || eventType.length > NAME_MAX_LENGTH) {
      throw new InvalidArgumentError(
        `${field}[${i}].eventType`,
        `must be a non-empty string of at most ${NAME_MAX_LENGTH} characters`,
      );
    }
    if (!isStorable(eventType)) storable(eventType, `${field}[${i}].eventType`);
    const data = event['data'];
    const metadata = event['metadata'];
    if (metadata !== undefined && !isRecord(metadata)) {
      throw new InvalidArgumentError(`${field}[${i}].metadata`, 'must be an object');
    }
    const tags = event['tags'] === undefined ? NO_TAGS : validateTags(event['tags'], field, i);
    const dataContentType = event['dataContentType'];
    const metadataContentType = event['metadataContentType'];
    const dataJson = data === undefined ? null : toJson(data, field, i, 'data');
    const metadataJson = metadata === undefined ? null : toJson(metadata, field, i, 'metadata');
    const tagsJson = tags.length === 0 ? null : JSON.stringify(tags);
    const eventChars = (dataJson?.length ?? 0) + (metadataJson?.length ?? 0) + (tagsJson?.length ?? 0);
    // A UTF-16 code unit takes at most 3 bytes in UTF-8: only a large event needs counting.
    if (eventChars * 3 > EVENT_TEXT_MAX_BYTES && utf8Bytes(dataJson, metadataJson, tagsJson) > EVENT_TEXT_MAX_BYTES) {
      throw new InvalidArgumentError(
        `${field}[${i}]`,
        `data, metadata and tags of one event must total at most ${EVENT_TEXT_MAX_BYTES} bytes of UTF-8 JSON, so ` +
          'that any node can deliver it',
      );
    }
    chars += eventChars;
    if (chars > APPEND_TEXT_MAX_CHARS) {
      throw new InvalidArgumentError(
        field,
        `data, metadata and tags of one append must total at most ${APPEND_TEXT_MAX_CHARS} characters of JSON`,
      );
    }
    prepared[i] = {
      eventId,
      eventType,
      data: dataJson,
      metadata: metadataJson,
      tags,
      tagsJson,
      dataContentType:
        dataContentType === undefined
          ? DEFAULT_CONTENT_TYPE
          : validateName(dataContentType, `${field}[${i}].dataContentType`),
      metadataContentType:
        metadataContentType === undefined
          ? DEFAULT_CONTENT_TYPE
          : validateName(metadataContentType, `${field}[${i}].metadataContentType`),
    };
  }
  return { events: prepared, chars, idsSupplied };
}

const NO_TAGS: readonly string[] = Object.freeze([]);

/** Bytes of `texts` in UTF-8, nulls counting none. */
export function utf8Bytes(...texts: (string | null)[]): number {
  let bytes = 0;
  for (const text of texts) if (text !== null) bytes += Buffer.byteLength(text, 'utf8');
  return bytes;
}

function duplicateId(events: readonly unknown[], index: number, eventId: string, field: string): InvalidArgumentError {
  const first = events.findIndex((e) => isUuid((e as Record<string, unknown>)['eventId']) &&
    normalizeUuid((e as Record<string, string>)['eventId']!) === eventId);
  return new InvalidArgumentError(`${field}[${index}].eventId`, `duplicates ${field}[${first}].eventId`);
}

/** A non-negative safe integer: a global position or a stream version. */
export function validateNonNegativeInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(field, 'must be an integer >= 0');
  }
  return value;
}

/** How many events a read may return: an integer from 1 to READ_COUNT_MAX. */
export function validateCount(value: unknown, field = 'count'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > READ_COUNT_MAX) {
    throw new InvalidArgumentError(field, `must be an integer from 1 to ${READ_COUNT_MAX}`);
  }
  return value;
}

export interface ValidReadStream {
  fromVersion: number | undefined;
  count: number;
  direction: Direction;
}

export function validateReadStream(options: unknown): ValidReadStream {
  if (!isRecord(options)) throw new InvalidArgumentError('options', 'must be an object');
  const direction = options['direction'] ?? 'forward';
  if (direction !== 'forward' && direction !== 'backward') {
    throw new InvalidArgumentError('direction', "must be 'forward' or 'backward'");
  }
  return {
    fromVersion:
      options['fromVersion'] === undefined
        ? undefined
        : validateNonNegativeInteger(options['fromVersion'], 'fromVersion'),
    count: validateCount(options['count']),
    direction,
  };
}

/** Checks a filter; returns a copy holding only the criteria backends evaluate, with `tagMatch` filled in. */
export function validateFilter(filter: unknown, field = 'filter'): EventFilter {
  if (!isRecord(filter)) throw new InvalidArgumentError(field, 'must be an object');
  const out: EventFilter = {};
  if (filter['streamId'] !== undefined) out.streamId = validateStreamId(filter['streamId'], `${field}.streamId`);
  if (filter['streamPattern'] !== undefined) {
    out.streamPattern = validateStreamPattern(filter['streamPattern'], `${field}.streamPattern`);
  }
  if (filter['minVersion'] !== undefined) {
    out.minVersion = validateNonNegativeInteger(filter['minVersion'], `${field}.minVersion`);
  }
  if (filter['types'] !== undefined) out.types = validateNames(filter['types'], `${field}.types`);
  if (filter['tags'] !== undefined) out.tags = validateNames(filter['tags'], `${field}.tags`);
  const tagMatch = filter['tagMatch'] ?? 'any';
  if (tagMatch !== 'any' && tagMatch !== 'all') {
    throw new InvalidArgumentError(`${field}.tagMatch`, "must be 'any' or 'all'");
  }
  out.tagMatch = tagMatch;
  return out;
}

/** A stream-id wildcard: `*` any run of characters, `?` one character; every other character is literal. */
export function validateStreamPattern(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > STREAM_ID_MAX_LENGTH) {
    throw new InvalidArgumentError(field, `must be a non-empty string of at most ${STREAM_ID_MAX_LENGTH} characters`);
  }
  return storable(value, field);
}

/** Global positions to read: an array of at most READ_COUNT_MAX integers >= 0. */
export function validatePositions(value: unknown, field = 'positions'): number[] {
  if (!Array.isArray(value) || value.length > READ_COUNT_MAX) {
    throw new InvalidArgumentError(field, `must be an array of at most ${READ_COUNT_MAX} positions`);
  }
  return value.map((p, i) => validateNonNegativeInteger(p, `${field}[${i}]`));
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshots

export interface ValidSnapshot {
  sourceUuid: string;
  streamUuid: string;
  version: number;
  /** JSON text. */
  data: string;
  /** JSON text of an object. */
  metadata: string;
}

export function validateSnapshotInput(snapshot: unknown, field = 'snapshot'): ValidSnapshot {
  if (!isRecord(snapshot)) throw new InvalidArgumentError(field, 'must be an object');
  const { sourceUuid, streamUuid, version } = validateSnapshotKey(
    snapshot['sourceUuid'],
    snapshot['streamUuid'],
    snapshot['version'],
    field + '.',
  );
  if (version < 1) throw new InvalidArgumentError(`${field}.version`, 'must be an integer >= 1');
  if (snapshot['data'] === undefined) throw new InvalidArgumentError(`${field}.data`, 'is required');
  const metadata = snapshot['metadata'] ?? {};
  if (!isRecord(metadata)) throw new InvalidArgumentError(`${field}.metadata`, 'must be an object');
  return {
    sourceUuid,
    streamUuid,
    version,
    data: toJson(snapshot['data'], `${field}.data`),
    metadata: toJson(metadata, `${field}.metadata`),
  };
}

/** Source and stream of a snapshot (non-empty strings) and its version (0 meaning the latest when reading). */
export function validateSnapshotKey(
  sourceUuid: unknown,
  streamUuid: unknown,
  version: unknown,
  prefix = '',
): Pick<SnapshotInput, 'sourceUuid' | 'streamUuid' | 'version'> {
  return {
    sourceUuid: validateName(sourceUuid, `${prefix}sourceUuid`, STREAM_ID_MAX_LENGTH),
    streamUuid: validateName(streamUuid, `${prefix}streamUuid`, STREAM_ID_MAX_LENGTH),
    version: validateNonNegativeInteger(version, `${prefix}version`),
  };
}

export function validateSnapshotQuery(query: unknown, field = 'query'): SnapshotQuery {
  if (query === undefined) return {};
  if (!isRecord(query)) throw new InvalidArgumentError(field, 'must be an object');
  const out: SnapshotQuery = {};
  if (query['sourceUuid'] !== undefined) {
    out.sourceUuid = validateName(query['sourceUuid'], `${field}.sourceUuid`, STREAM_ID_MAX_LENGTH);
  }
  if (query['streamUuid'] !== undefined) {
    out.streamUuid = validateName(query['streamUuid'], `${field}.streamUuid`, STREAM_ID_MAX_LENGTH);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Subscriptions

/** A subscription spec with its defaults filled in. */
export interface ValidSubscriptionSpec {
  type: SubscriptionType;
  selector: SubscriptionSelector;
  name: string;
  startFrom: number;
  options: Required<SubscriptionOptions>;
}

export function validateSubscriptionSpec(spec: unknown, field = 'spec'): ValidSubscriptionSpec {
  if (!isRecord(spec)) throw new InvalidArgumentError(field, 'must be an object');
  const type = validateSubscriptionType(spec['type'], `${field}.type`);
  return {
    type,
    selector: validateSelector(type, spec['selector'], `${field}.selector`),
    name: validateSubscriptionName(spec['name'], `${field}.name`),
    startFrom:
      spec['startFrom'] === undefined ? 0 : validateNonNegativeInteger(spec['startFrom'], `${field}.startFrom`),
    options: validateSubscriptionOptions(spec['options'], `${field}.options`),
  };
}

export function validateSubscriptionType(value: unknown, field = 'type'): SubscriptionType {
  if (typeof value !== 'string' || !(SUBSCRIPTION_TYPES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(field, `must be one of ${SUBSCRIPTION_TYPES.join(', ')}`);
  }
  return value as SubscriptionType;
}

export function validateSubscriptionName(value: unknown, field = 'name'): string {
  return validateName(value, field, NAME_MAX_LENGTH);
}

/** A record's `createdAt` as stored: ISO 8601 in UTC with microseconds (`2026-01-02T03:04:05.678901Z`). */
const CREATED_AT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})(\d{3})Z$/;

/**
 * The microseconds since the epoch of a subscription record's `createdAt`, which tells a subscription from another
 * saved under the same name after it was removed. Undefined stays undefined (no such condition).
 */
export function validateCreatedAt(value: unknown, field = 'createdAt'): number | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? CREATED_AT.exec(value) : null;
  const ms = match === null ? NaN : Date.parse(`${match[1]}Z`);
  if (Number.isNaN(ms)) {
    throw new InvalidArgumentError(field, "must be a subscription record's createdAt (ISO 8601 with microseconds)");
  }
  return ms * 1000 + Number(match![2]);
}

/** The selector's shape depends on the subscription type (see SubscriptionSelector). */
export function validateSelector(type: SubscriptionType, selector: unknown, field = 'selector'): SubscriptionSelector {
  switch (type) {
    case 'by_stream':
      return selector === ALL_STREAMS ? ALL_STREAMS : validateStreamId(selector, field);
    case 'by_event_type':
      return validateName(selector, field, NAME_MAX_LENGTH);
    case 'by_event_pattern':
      return validateStreamPattern(selector, field);
    case 'by_event_payload':
      if (!isRecord(selector)) throw new InvalidArgumentError(field, 'must be an object');
      if (nestedDeeperThan(selector, PAYLOAD_SELECTOR_DEPTH_MAX)) {
        throw new InvalidArgumentError(field, `must be nested at most ${PAYLOAD_SELECTOR_DEPTH_MAX} levels deep`);
      }
      toJson(selector, field);
      return selector;
    case 'by_tags':
      return validateNames(selector, field);
  }
}

export function validateSubscriptionOptions(options: unknown, field = 'options'): Required<SubscriptionOptions> {
  const out: Required<SubscriptionOptions> = {
    ackTimeoutMs: ACK_TIMEOUT_MS,
    maxDeliveries: MAX_DELIVERIES,
    maxInFlight: MAX_IN_FLIGHT,
    tagMatch: TAG_MATCH,
  };
  if (options === undefined) return out;
  if (!isRecord(options)) throw new InvalidArgumentError(field, 'must be an object');
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    switch (key) {
      case 'ackTimeoutMs':
        out.ackTimeoutMs = validateInRange(value, `${field}.ackTimeoutMs`, ACK_TIMEOUT_MS_RANGE);
        break;
      case 'maxDeliveries':
        out.maxDeliveries = validateInRange(value, `${field}.maxDeliveries`, MAX_DELIVERIES_RANGE);
        break;
      case 'maxInFlight':
        out.maxInFlight = validateInRange(value, `${field}.maxInFlight`, MAX_IN_FLIGHT_RANGE);
        break;
      case 'tagMatch':
        if (value !== 'any' && value !== 'all') {
          throw new InvalidArgumentError(`${field}.tagMatch`, "must be 'any' or 'all'");
        }
        out.tagMatch = value;
        break;
      default:
        throw new InvalidArgumentError(`${field}.${key}`, 'is not a subscription option');
    }
  }
  return out;
}

export function validateParkedEvent(parked: unknown, field = 'parked'): Omit<ParkedEvent, 'parkedAt'> {
  if (!isRecord(parked)) throw new InvalidArgumentError(field, 'must be an object');
  return {
    subscription: validateSubscriptionName(parked['subscription'], `${field}.subscription`),
    position: validateNonNegativeInteger(parked['position'], `${field}.position`),
    eventId: validateName(parked['eventId'], `${field}.eventId`),
    streamId: validateName(parked['streamId'], `${field}.streamId`, STREAM_ID_MAX_LENGTH),
    deliveries: validateNonNegativeInteger(parked['deliveries'], `${field}.deliveries`),
    reason: validateName(parked['reason'], `${field}.reason`, 1024),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A non-empty string of at most `maxLength` characters that both backends store exactly (see `storable`). */
export function validateName(value: unknown, field: string, maxLength = NAME_MAX_LENGTH): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new InvalidArgumentError(field, `must be a non-empty string of at most ${maxLength} characters`);
  }
  return storable(value, field);
}

/** A non-empty array of names (event types, tags): a copy, duplicates removed. */
function validateNames(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new InvalidArgumentError(field, 'must be a non-empty array');
  if (value.length > TAGS_PER_EVENT_MAX) {
    throw new InvalidArgumentError(field, `must hold at most ${TAGS_PER_EVENT_MAX} items`);
  }
  for (let i = 0; i < value.length; i++) {
    const name: unknown = value[i];
    // The field name is built only on failure: this runs for every tag of every appended event.
    if (typeof name !== 'string' || name.length === 0 || name.length > NAME_MAX_LENGTH || !isStorable(name)) {
      validateName(name, `${field}[${i}]`);
    }
  }
  return value.length === 1 ? [value[0] as string] : [...new Set(value as string[])];
}

/** Tags of event `index`: a copy, duplicates removed. */
function validateTags(value: unknown, field: string, index: number): readonly string[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${field}[${index}].tags`, 'must be an array of strings');
  if (value.length === 0) return NO_TAGS;
  const only: unknown = value[0];
  if (value.length === 1 && typeof only === 'string' && only.length > 0 && only.length <= NAME_MAX_LENGTH &&
      isStorable(only)) {
    return [only];
  }
  return validateNames(value, `${field}[${index}].tags`);
}

function validateInRange(value: unknown, field: string, [min, max]: readonly [number, number]): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** JSON text of `value`; the field is `field`, or `field[index].key` (built only on failure). */
function toJson(value: unknown, field: string, index?: number, key?: string): string {
  let json: string | undefined;
  let reason = '';
  try {
    json = JSON.stringify(value);
  } catch (err) {
    reason = ` (${(err as Error).message})`;
  }
  // Built only on failure: this runs for every event of every append.
  const name = (): string => (index === undefined ? field : `${field}[${index}].${key}`);
  if (json === undefined) throw new InvalidArgumentError(name(), `must be JSON-serialisable${reason}`);
  // JSON.stringify writes Infinity (what JSON.parse makes of 1e400) and NaN as null: stored, the value would silently
  // become another. Only a text holding a null can hide one, so the common case pays one substring search.
  const path = json.includes('null') ? nonFinitePath(value) : undefined;
  if (path !== undefined) {
    throw new InvalidArgumentError(`${name()}${path}`, 'must be a finite number (a JSON number this large, Infinity or NaN cannot be stored)');
  }
  return json;
}

/**
 * The path (`.a[2].b`, or '' for the value itself) of the first number in `value` that is not finite, or undefined.
 * Iterative: the value may be nested as deep as JSON.stringify allowed. Visits what JSON.stringify wrote: own
 * enumerable properties and array elements, through toJSON.
 */
function nonFinitePath(value: unknown): string | undefined {
  const pending: [unknown, string][] = [[value, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    let [item, path] = next;
    if (typeof item === 'object' && item !== null && typeof (item as { toJSON?: unknown }).toJSON === 'function') {
      item = (item as { toJSON: () => unknown }).toJSON();
    }
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) return path;
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push([item[i], `${path}[${i}]`]);
    } else if (typeof item === 'object' && item !== null) {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i--) pending.push([entries[i]![1], `${path}.${entries[i]![0]}`]);
    }
  }
  return undefined;
}

/** Whether objects and arrays nest more than `max` levels in `value`; looks no deeper than that, so a cycle ends too. */
function nestedDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max === 0) return true;
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    if (nestedDeeperThan(item, max - 1)) return true;
  }
  return false;
}

/** Whether `value` is an object that is neither null nor an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON text with object keys sorted, so that two values that mean the same (a payload selector written with its
 * keys in another order) compare equal as strings.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (!isRecord(v)) return v;
    // A null prototype, so that a key named __proto__ is an ordinary key here too.
    const sorted = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(v).sort()) sorted[key] = v[key];
    return sorted;
  });
}
