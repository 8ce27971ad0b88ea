/** Tuning values of the subscription engine. Subscription options (ack timeout, deliveries, in-flight) are stored
 * with each persistent subscription instead; see `../subscription-defaults.ts`. */

/** Events read from the store per `readFiltered` call: the most a cursor holds in memory. */
export const READ_BATCH_EVENTS = 500;

/**
 * Pages of READ_BATCH_EVENTS the shared tail read (append-fanout.ts) reads in a row for commits of other nodes before
 * it leaves the rest to the cursors: a live cursor keeps only the latest batch it was told of, so pages read far
 * ahead of the slowest would be read again by it anyway.
 */
export const TAIL_READ_MAX_PAGES = 4;

/**
 * How often the hub compares the store's head with the last position it was notified of, while anyone is
 * subscribed. `onAppend` is only a hint (a remote backend may lose one); this bounds how late a lost hint can make a
 * live subscriber.
 */
export const HEAD_POLL_INTERVAL_MS = 1_000;

/**
 * How often the hub reads back the records of the persistent subscriptions it delivers on a store shared with other
 * nodes: one removed (or saved again) through another node ends its session here within this time, even if its
 * consumer never acknowledges anything (an acknowledgement would find out at once).
 */
export const RECORD_CHECK_INTERVAL_MS = 5_000;

/**
 * How long a persistent subscription stays loaded on a node with no session before that node retires it (saves its
 * last checkpoint and gives its lease up, so that any node may deliver it next). The TypeScript client reconnects a
 * broken stream within 0.1–1 s, so a reconnect to the same node finds the subscription as it left it (unacknowledged
 * events with their delivery counts, queued replays, late acks); a consumer that moves to another node waits about as
 * long as one whose node lost the server does (its leases drop within 5 s). It need not cover `ackTimeoutMs` (30 s by
 * default): the next session, here or elsewhere, gets the unacknowledged events again at once, not after a timeout.
 */
export const IDLE_LEASE_RELEASE_MS = 5_000;
