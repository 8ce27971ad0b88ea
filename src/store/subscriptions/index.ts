/**
 * The subscription engine: transient observations and persistent subscriptions over any EventStore, built only on
 * the EventStore interface so every backend behaves the same. `SubscriptionHub` (one per store) is the entry point.
 *
 * What subscribers can rely on:
 * - Events arrive in global position order; replaying history (`startFrom`) flows into live events with no gap and
 *   no duplicate at the seam, whatever commits race the replay (see event-cursor.ts for why).
 * - Delivery is pull-based: a consumer that stops pulling costs the store nothing and holds at most one read batch
 *   in memory; other subscribers are not slowed.
 * - Transient (`observe`): from `startFrom` (a global position) or from the store's head when the call runs.
 * - Persistent (`connect`): at least once, in order. At most `maxInFlight` events are out unacknowledged; acks (by
 *   position) move a durable checkpoint over the contiguous acknowledged prefix; when the oldest unacknowledged event
 *   has waited `ackTimeoutMs`, it and every unacknowledged event after it go out again (go-back-N), and an event
 *   delivered `maxDeliveries` times is parked instead. One session per subscription: a new one replaces the old and
 *   receives its unacknowledged events. After a restart, delivery resumes after the durable checkpoint.
 */
export type { Delivery, EventSubscription, ObserveSpec } from './types.ts';
export { SubscriptionHub, type SubscriptionHubComponents, type SubscriptionHubInit } from './subscription-hub.ts';
export { compileMatcher, payloadMatches, compileWildcard, ALL_STREAMS } from './matcher.ts';
export type { EventMatcher, MatcherOptions } from './matcher.ts';
export {
  EventCursor,
  type AppendSource,
  type EventCursorComponents,
  type EventCursorInit,
} from './event-cursor.ts';
export { DeliveryStream, EndReason, type DeliverySource, type DeliveryStreamInit } from './delivery-stream.ts';
export { DeliveryWindow, type WindowEntry, type EntryState, type DeliveryWindowInit } from './delivery-window.ts';
export { CheckpointWriter } from './checkpoint-writer.ts';
export { PersistentSubscription, PARK_REASON_MAX_DELIVERIES } from './persistent-subscription.ts';
export { systemClock, type Clock, type Timer } from './clock.ts';
export { READ_BATCH_EVENTS, HEAD_POLL_INTERVAL_MS } from './constants.ts';
