/**
 * The EventStore contract: one suite every backend must pass (SQLite here; PostgreSQL runs it too). It speaks only
 * to the EventStore interface, through a factory that makes fresh, open, empty stores.
 */
import { describe } from 'node:test';
import type { EventStore } from '../../src/store/event-store.ts';
import { appendContract } from './contract/appends.ts';
import { readContract } from './contract/reads.ts';
import { recordsContract } from './contract/records.ts';

export function runEventStoreContract(
  backendName: string,
  createStore: () => Promise<EventStore>,
  dispose: (store: EventStore) => Promise<void>,
): void {
  const factory = { backend: backendName, create: createStore, dispose };
  describe(`EventStore contract: ${backendName}`, () => {
    appendContract(factory);
    readContract(factory);
    recordsContract(factory);
  });
}
