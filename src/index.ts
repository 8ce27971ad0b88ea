/**
 * The public surface of the `gater` package: the TypeScript client and the types and errors of the gateway API.
 *
 * ```ts
 * import { GaterClient } from 'gater';
 * const client = new GaterClient({}, { url: 'http://127.0.0.1:4001' });
 * ```
 */
export * from './client/index.ts';
export * from './errors/index.ts';
export type {
  AppendOptions,
  CallOptions,
  GaterApi,
  ReadOptions,
  StoreDetails,
  StoreSummary,
  WorkerInfo,
} from './gateway/gater-api.ts';
export type { HealthReport } from './http/routes/health.ts';
export type { Delivery, EventSubscription, ObserveSpec } from './store/subscriptions/types.ts';
export {
  ExpectedVersion,
  NO_POSITION,
  NO_STREAM_VERSION,
  SUBSCRIPTION_TYPES,
  type AppendResult,
  type Direction,
  type EventFilter,
  type EventMetadata,
  type FilteredRead,
  type NewEvent,
  type ParkedEvent,
  type RecordedEvent,
  type SnapshotInput,
  type SnapshotQuery,
  type SnapshotRecord,
  type StreamInfo,
  type SubscriptionOptions,
  type SubscriptionRecord,
  type SubscriptionSelector,
  type SubscriptionSpec,
  type SubscriptionType,
} from './store/types.ts';
