/**
 * UUIDs: generation of time-ordered version 7 ids (RFC 9562) and a shape check for ids supplied by callers.
 */
import { randomUUID } from 'node:crypto';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A new UUIDv7: 48 bits of Unix milliseconds, then 74 random bits. Ids made in different milliseconds sort (as
 * strings and as bytes) in creation order, which keeps the store's event-id index appending at its end instead of
 * splitting pages all over it.
 */
export function uuidv7(): string {
  // randomUUID draws from Node's cached entropy pool, far cheaper than a fresh randomBytes call per id. Its v4 layout
  // is xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx with the variant bits already set: keep everything after the version
  // digit and put the timestamp and version 7 in front.
  const random = randomUUID();
  const ms = Date.now().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${random.slice(15)}`;
}

/** Whether `value` is a UUID in its canonical textual form (any version, either case). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && value.length === 36 && UUID_PATTERN.test(value);
}

/** The Unix milliseconds carried by a UUIDv7. */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
