/**
 * The TypeScript client: `GaterClient` speaks to any gater node over its HTTP API with the types and typed errors of
 * the gateway API; subscriptions are async iterators that reconnect and resume.
 */
export { GaterClient, selectorText, type ClusterView, type GaterClientComponents, type GaterClientInit, type SubscribeOptions } from './gater-client.ts';
export {
  HttpSubscription,
  type StreamOptions,
  type SubscriptionKind,
  type SubscriptionState,
} from './http-subscription.ts';
export { SseParser, type SseMessage } from './sse-parser.ts';
export { CALL_DEADLINE_MS, DEFAULT_URL, STREAM_IDLE_TIMEOUT_MS } from './constants.ts';
