/**
 * The subscription engine: transient observations and persistent subscriptions over any EventStore.
 * `SubscriptionHub` is the entry point; the rest is exported for other backends' tests and for tools.
 */
export type { Delivery, EventSubscription, ObserveSpec } from './types.ts';
export { SubscriptionHub, type SubscriptionHubComponents, type SubscriptionHubInit } from './subscription-hub.ts';
export { compileMatcher, payloadMatches, wildcardToRegExp, ALL_STREAMS } from './matcher.ts';
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
