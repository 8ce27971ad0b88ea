/** Tuning values of the SQLite backend. */

/** Most events committed in one group-commit transaction. */
export const MAX_BATCH_EVENTS = 10_000;
/** Streams whose id and version are kept in memory; the rest are read from disk when appended to. */
export const STREAM_CACHE_SIZE = 100_000;
/** Distinct filter shapes whose prepared statements are kept. */
export const FILTER_STATEMENT_CACHE_SIZE = 64;
/** SQLite page cache of one store, in KiB (SQLite's default, 2 MiB, is small for the indexes of millions of events). */
export const CACHE_SIZE_KIB = 32_768;
/** SQLite `synchronous` level: FULL makes every acknowledged commit survive power loss, not only a process crash. */
export const SYNCHRONOUS = 'FULL';
/**
 * WAL pages after which a commit also checkpoints (copies the WAL into the database). Larger than SQLite's default
 * of 1,000: pages rewritten by many commits (index tails) are then copied once instead of many times, at the price
 * of a longer pause every 16 MiB of writes.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 4_000;
