export type { WorkerEntry } from './worker-entry.ts';
export { compareStamps, mergeRecords, mergeStates, stampOf, type NodeRecord, type RecordStamp, type RegistryState } from './node-record.ts';
export {
  WorkerRegistry,
  type RegistryView,
  type RegistryListener,
  type StoreConflict,
} from './worker-registry.ts';
