export type { WorkerEntry } from './worker-entry.ts';
export { WorkerRegistry, type RegistryView, type RegistryListener } from './worker-registry.ts';
