/** Tuning values of the PostgreSQL backend. */

/** Connections of one store's pool (appends use one at a time; reads and records share the rest). */
export const POOL_SIZE = 10;
/**
 * Milliseconds a statement may run before the server cancels it. The gateway's default call deadline: a statement
 * still running after it has no caller left to answer.
 */
export const STATEMENT_TIMEOUT_MS = 5_000;
/** Milliseconds to wait for a connection (from the pool, or a new one) before the call fails with `unavailable`. */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * Milliseconds past the statement timeout after which this process gives up on a query whose answer never comes (the
 * network drops everything, so the server's cancellation cannot arrive either); the connection is then discarded.
 */
export const QUERY_TIMEOUT_MARGIN_MS = 2_000;
/**
 * Milliseconds a transaction may sit idle between its statements (a node that froze or lost its network in the
 * middle of a stream's deletion) before the server ends it, releasing the store's lock for the other nodes.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;
/** Milliseconds an unused pooled connection stays open. */
export const IDLE_CONNECTION_MS = 30_000;
/** Most events written by one append batch (one round trip, one commit). */
export const MAX_BATCH_EVENTS = 10_000;
/**
 * Append batches in flight at once. Two keep both sides busy (one batch is written under the store's lock while the
 * next travels and this process answers the last); more only queue behind the lock.
 */
export const MAX_CONCURRENT_BATCHES = 2;
/**
 * What waits is spread over several batches only when each part would get at least this many events. A commit costs about as much as
 * an append of one event (a round trip, the lock handed over, a WAL flush: 0.7 ms on the benchmark's machine), an
 * event about 25 µs more: at 128 events the commit is about a fifth of a batch's time. Smaller parts lose more to
 * their extra commits than they gain by overlapping, most of all when other nodes' batches queue for the lock too.
 */
export const MIN_SPLIT_BATCH_EVENTS = 128;
/** First delay before reconnecting the notification or lease connection; doubles up to the maximum. */
export const RECONNECT_MIN_DELAY_MS = 100;
export const RECONNECT_MAX_DELAY_MS = 2_000;
/**
 * Seconds of silence after which the server probes a connection, and probes before it gives up, set on every
 * connection: a node that vanished without closing its connections loses its subscription leases, and any transaction
 * it had open, after about IDLE_S + COUNT * INTERVAL_S seconds.
 */
export const CONNECTION_KEEPALIVE_IDLE_S = 5;
export const CONNECTION_KEEPALIVE_INTERVAL_S = 2;
export const CONNECTION_KEEPALIVE_COUNT = 3;
/**
 * Milliseconds the server's end of a connection may leave data unacknowledged before it gives up: keepalive probes
 * start only on a connection with nothing in flight, so a node that died just after the server sent it an answer
 * (one every heartbeat) would otherwise be retransmitted to for about 15 minutes (tcp_retries2), holding its leases.
 * The same bound as the probes.
 */
export const CONNECTION_USER_TIMEOUT_MS =
  (CONNECTION_KEEPALIVE_IDLE_S + CONNECTION_KEEPALIVE_COUNT * CONNECTION_KEEPALIVE_INTERVAL_S) * 1000;
/**
 * Milliseconds between heartbeat queries on the notification and lease connections, and how long one may wait for
 * its answer before the connection counts as lost. A node cut off from the server must drop its subscription leases
 * before the server's keepalive probes end its session (IDLE_S + COUNT * INTERVAL_S = 11 s after the last packet),
 * since another node can take the leases over from then on: interval + timeout = 5 s leaves 6 s to stop delivering.
 */
export const HEARTBEAT_INTERVAL_MS = 2_000;
export const HEARTBEAT_TIMEOUT_MS = 3_000;
/**
 * Distinct filter shapes (criteria, numbers of types or tags) that run as prepared statements, each prepared once per
 * pool connection and kept as long as it lives; further shapes run unprepared, parsed on every call.
 */
export const FILTER_PREPARED_SHAPES = 64;
/**
 * Events of a deleted stream removed per statement. The stream is gone at once (see schema version 4); its rows are
 * removed in chunks that each take well under the statement timeout (about 10 ms per 5,000 events here), however
 * large the stream.
 */
export const DELETION_CHUNK_EVENTS = 5_000;
