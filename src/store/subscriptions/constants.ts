/** Tuning values of the subscription engine. Subscription options (ack timeout, deliveries, in-flight) are stored
 * with each persistent subscription instead; see `../subscription-defaults.ts`. */

/** Events read from the store per `readFiltered` call: the most a cursor holds in memory. */
export const READ_BATCH_EVENTS = 500;

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
