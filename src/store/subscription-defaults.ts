/**
 * Defaults of persistent subscription options, shared by the stores (which record them) and the subscription
 * engine (which applies them).
 */

/** Milliseconds an event may stay unacknowledged before it is delivered again. */
export const ACK_TIMEOUT_MS = 30_000;
/** Deliveries of one event before it is parked. */
export const MAX_DELIVERIES = 5;
/** Events delivered but not yet acknowledged, at most. */
export const MAX_IN_FLIGHT = 100;
/** Whether any or all of a `by_tags` subscription's tags must be present. */
export const TAG_MATCH = 'any';
