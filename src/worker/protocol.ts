/**
 * The calls a gateway worker serves, as plain JSON objects. The same objects are executed in-process by a local
 * worker and shipped over the mesh to a remote one, so every field here must survive JSON encoding. Operation names
 * are part of the wire protocol: only ever add.
 */
import type {
  AppendResult,
  Direction,
  EventFilter,
  FilteredRead,
  NewEvent,
  ParkedEvent,
  RecordedEvent,
  SnapshotInput,
  SnapshotQuery,
  SnapshotRecord,
  StoreStats,
  StreamInfo,
  SubscriptionRecord,
  SubscriptionSelector,
  SubscriptionSpec,
  SubscriptionType,
} from '../store/types.ts';
import type { ObserveSpec } from '../store/subscriptions/types.ts';

export interface StoreCalls {
  append: { args: { streamId: string; events: NewEvent[]; expectedVersion?: number }; result: AppendResult };
  readStream: {
    args: { streamId: string; fromVersion?: number; count: number; direction?: Direction };
    result: RecordedEvent[];
  };
  readFiltered: { args: { filter: EventFilter; fromPosition: number; limit: number }; result: FilteredRead };
  streamVersion: { args: { streamId: string }; result: number };
  listStreams: { args: Record<string, never>; result: StreamInfo[] };
  deleteStream: { args: { streamId: string }; result: null };
  stats: { args: Record<string, never>; result: StoreStats };
  recordSnapshot: { args: { snapshot: SnapshotInput }; result: null };
  readSnapshot: { args: { sourceUuid: string; streamUuid: string; version: number }; result: SnapshotRecord };
  deleteSnapshot: { args: { sourceUuid: string; streamUuid: string; version: number }; result: null };
  listSnapshots: { args: { query?: SnapshotQuery }; result: SnapshotRecord[] };
  saveSubscription: { args: { spec: SubscriptionSpec }; result: SubscriptionRecord };
  removeSubscription: {
    args: { type: SubscriptionType; selector: SubscriptionSelector; name: string };
    result: null;
  };
  getSubscription: { args: { name: string }; result: SubscriptionRecord };
  listSubscriptions: { args: Record<string, never>; result: SubscriptionRecord[] };
  ack: { args: { name: string; positions: number[] }; result: { checkpoint: number } };
  listParked: { args: { name: string }; result: ParkedEvent[] };
  replayParked: { args: { name: string; positions?: number[] }; result: { replayed: number } };
}

export type StoreOp = keyof StoreCalls;
export type StoreCallArgs<Op extends StoreOp> = StoreCalls[Op]['args'];
export type StoreCallResult<Op extends StoreOp> = StoreCalls[Op]['result'];

/** A unary call addressed to one store. */
export interface StoreCall<Op extends StoreOp = StoreOp> {
  store: string;
  op: Op;
  args: StoreCallArgs<Op>;
}

/** Calls that open a stream of deliveries instead of returning one result. */
export type StoreStreamCall =
  | { store: string; op: 'observe'; spec: ObserveSpec }
  | { store: string; op: 'subscribe'; name: string };

export const STORE_OPS: readonly StoreOp[] = [
  'append',
  'readStream',
  'readFiltered',
  'streamVersion',
  'listStreams',
  'deleteStream',
  'stats',
  'recordSnapshot',
  'readSnapshot',
  'deleteSnapshot',
  'listSnapshots',
  'saveSubscription',
  'removeSubscription',
  'getSubscription',
  'listSubscriptions',
  'ack',
  'listParked',
  'replayParked',
];

/**
 * Whether running a call twice has the same effect as running it once, so the gateway may retry it on another
 * worker after a failure whose outcome is unknown. Reads always are; an append only when every event carries an id
 * (the store's idempotency makes the second attempt a no-op); deletes never (the second attempt would report
 * `not_found` for something that did happen).
 */
export function isSafeToRetry(call: StoreCall): boolean {
  switch (call.op) {
    case 'append':
      return (call.args as StoreCallArgs<'append'>).events.every((e) => typeof e.eventId === 'string');
    case 'deleteStream':
    case 'deleteSnapshot':
    case 'removeSubscription':
    case 'replayParked':
      return false;
    default:
      return true;
  }
}
