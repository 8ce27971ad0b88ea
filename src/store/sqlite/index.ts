/**
 * The embedded event store backend, on the built-in `node:sqlite`.
 *
 * One database file per store (`<dataDir>/stores/<storeId>/events.sqlite`) in WAL mode with `synchronous=FULL`,
 * held under an exclusive lock while open. Concurrent appends are group-committed: one transaction and one fsync for
 * every append that arrived while the previous commit ran, each append still checked, applied and answered on its
 * own. See `SqliteEventStore` for the options.
 */
export { SqliteEventStore, type SqliteEventStoreComponents, type SqliteEventStoreInit } from './sqlite-event-store.ts';
export { storeDatabasePath, type SynchronousMode } from './database.ts';
export { MIGRATIONS, SCHEMA_VERSION } from './schema.ts';
export * from './constants.ts';
