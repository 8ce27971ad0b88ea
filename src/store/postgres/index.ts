/**
 * The event store backend on PostgreSQL, for stores served by workers on several nodes at once.
 *
 * Layout: one schema per store (`gater_<storeId>`), so one database holds many stores; created and migrated at open
 * by versioned migrations under an advisory lock (safe when several nodes start at once).
 *
 * Guarantees, across every node sharing the store:
 * - Appends take the store's lock (a row lock on `store_head`) and hold it until they commit. Positions are therefore
 *   gap-free in commit order, and a reader whose snapshot holds position n holds every position below it: no reader
 *   ever skips an event. The expected-version check runs under the same lock, and a unique index on
 *   (stream, version) backs it: two nodes can never both win a stream version.
 * - Group commit: concurrent appends on a node share one call of `append_batch` (one round trip, one commit). Up to
 *   two such batches are in flight, never with the same stream in both: a stream's appends keep their order.
 * - Live readers are woken by LISTEN/NOTIFY; a notification is a hint, readers read from their position.
 * - Persistent subscriptions: checkpoints and parked events in the database; one node at a time delivers a
 *   subscription, holding its lease (a session advisory lock); when that node dies another takes over.
 * - A lost connection fails calls with `unavailable`; the pool and the dedicated connections reconnect by themselves.
 */
export {
  PostgresEventStore,
  type PostgresEventStoreComponents,
  type PostgresEventStoreInit,
} from './postgres-event-store.ts';
export { MIGRATIONS, SCHEMA_VERSION, schemaNameFor } from './schema.ts';
export * from './constants.ts';
