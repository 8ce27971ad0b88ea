/** Defaults of the TypeScript client. Every duration is in milliseconds. */

/** The node a client talks to when given no URL: the local one on the default HTTP port. */
export const DEFAULT_URL = 'http://127.0.0.1:4001';
/** Deadline of a call, retries included, when neither the client nor the call sets one (the gateway's own default). */
export const CALL_DEADLINE_MS = 5_000;
/** First pause before retrying a call whose request could not reach the node; doubles up to the next constant. */
export const RETRY_BASE_DELAY_MS = 50;
/** Longest pause between two tries of a call, or two reconnects of a subscription. */
export const RETRY_MAX_DELAY_MS = 1_000;
/** First pause before reconnecting a subscription whose stream broke; doubles up to `RETRY_MAX_DELAY_MS`. */
export const RECONNECT_BASE_DELAY_MS = 100;
/**
 * How long an open event stream may stay silent before the client takes the connection for dead and reconnects. The
 * server sends a keep-alive comment every 15,000 ms, so three missed comments mean the connection is gone.
 */
export const STREAM_IDLE_TIMEOUT_MS = 45_000;
/** The header that carries a call's deadline to the node. */
export const DEADLINE_HEADER = 'x-gater-deadline-ms';
/** The longest deadline the node accepts. */
export const MAX_DEADLINE_MS = 600_000;
