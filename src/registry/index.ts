export type { WorkerEntry } from './worker-entry.ts';
export { compareStamps, mergeRecords, mergeStates, stampOf, type NodeRecord, type RecordStamp, type RegistryState } from './node-record.ts';
export {
  WorkerRegistry,
  type RegistryView,
  type RegistryListener,
  type StoreConflict,
} from './worker-registry.ts';
export {
  RegistrySync,
  DIGEST_INTERVAL_MS,
  UNCONFIRMED_GRACE_MS,
  PURGE_MEMORY_MS,
  type RegistryTransport,
  type RegistrySyncStats,
  type RegistrySyncInit,
} from './registry-sync.ts';
export { membershipOf, type Membership, type MembershipVerdict } from './membership.ts';
export { UnconfirmedRecords, type HeldRecord } from './unconfirmed-records.ts';
export { decodeRegistryMessage, encodeRegistryMessage, RegistryMessageKind, type RegistryMessage } from './record-codec.ts';
