/**
 * JSON schema pieces shared by the routes. Bounds come from the store's own validation (src/store/validate.ts), so
 * the HTTP layer refuses early, with the field named as the caller wrote it, exactly what the store would refuse.
 */
import {
  ACK_TIMEOUT_MS_RANGE,
  EVENTS_PER_APPEND_MAX,
  MAX_DELIVERIES_RANGE,
  MAX_IN_FLIGHT_RANGE,
  NAME_MAX_LENGTH,
  READ_COUNT_MAX,
  STREAM_ID_MAX_LENGTH,
  TAGS_PER_EVENT_MAX,
} from '../store/validate.ts';
import { SUBSCRIPTION_TYPES } from '../store/types.ts';

/** Page size of reads when the caller gives none. */
export const DEFAULT_PAGE_COUNT = 100;

/** A store id, as the configuration accepts it. */
export const storeId = {
  type: 'string',
  pattern: '^[A-Za-z0-9_-]{1,64}$',
  hint: 'must be a store id (1 to 64 letters, digits, _ or -)',
} as const;

/** A stream id; ids starting with `$` are reserved (`$all`). */
export const streamId = {
  type: 'string',
  minLength: 1,
  maxLength: STREAM_ID_MAX_LENGTH,
  pattern: '^[^$]',
  hint: `must be a stream id (1 to ${STREAM_ID_MAX_LENGTH} characters, not starting with $)`,
} as const;

/** An event type, tag, content type or subscription name. */
export const name = { type: 'string', minLength: 1, maxLength: NAME_MAX_LENGTH } as const;

/** A global position or a stream version. */
export const nonNegativeInteger = {
  type: 'integer',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  hint: 'must be an integer >= 0',
} as const;

export const count = {
  type: 'integer',
  minimum: 1,
  maximum: READ_COUNT_MAX,
  default: DEFAULT_PAGE_COUNT,
  hint: `must be an integer from 1 to ${READ_COUNT_MAX}`,
} as const;

export const tagMatch = { type: 'string', enum: ['any', 'all'] } as const;

const UUID_PATTERN = '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$';

export const newEvent = {
  type: 'object',
  required: ['eventType'],
  additionalProperties: false,
  properties: {
    eventId: { type: 'string', pattern: UUID_PATTERN, hint: 'must be a UUID' },
    eventType: name,
    data: {},
    metadata: { type: 'object' },
    tags: { type: 'array', maxItems: TAGS_PER_EVENT_MAX, items: name },
    dataContentType: name,
    metadataContentType: name,
  },
} as const;

export const events = { type: 'array', minItems: 1, maxItems: EVENTS_PER_APPEND_MAX, items: newEvent } as const;

export const expectedVersion = {
  anyOf: [
    { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    { type: 'integer', enum: [-1, -2, -4] },
    { type: 'string', enum: ['no_stream', 'any', 'stream_exists'] },
  ],
  hint: 'must be a stream version (integer >= 0), no_stream (-1), any (-2) or stream_exists (-4)',
} as const;

export const subscriptionType = { type: 'string', enum: SUBSCRIPTION_TYPES } as const;

/** Any shape a selector may take; the shape that fits the type is checked with the store's own rule. */
export const selector = {
  anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }, { type: 'object' }],
  hint: 'must be a string, a list of strings or a JSON object, as the subscription type requires',
} as const;

export const subscriptionOptions = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ackTimeoutMs: { type: 'integer', minimum: ACK_TIMEOUT_MS_RANGE[0], maximum: ACK_TIMEOUT_MS_RANGE[1] },
    maxDeliveries: { type: 'integer', minimum: MAX_DELIVERIES_RANGE[0], maximum: MAX_DELIVERIES_RANGE[1] },
    maxInFlight: { type: 'integer', minimum: MAX_IN_FLIGHT_RANGE[0], maximum: MAX_IN_FLIGHT_RANGE[1] },
    tagMatch,
  },
} as const;

export const positions = { type: 'array', maxItems: READ_COUNT_MAX, items: nonNegativeInteger } as const;

/** An object schema that accepts exactly the given properties (none unknown). */
export function object(properties: Record<string, object>, required: readonly string[] = []): object {
  return { type: 'object', additionalProperties: false, properties, required };
}

export const storeParams = object({ store: storeId }, ['store']);
export const streamParams = object({ store: storeId, stream: streamId }, ['store', 'stream']);
export const subscriptionParams = object({ store: storeId, name }, ['store', 'name']);
