/** The SQLite backend: the EventStore contract, then what only the embedded engine promises. */
import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '../../src/store/event-store.ts';
import { SqliteEventStore } from '../../src/store/sqlite/index.ts';
import { runEventStoreContract } from './contract.ts';

let root = '';
let stores = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gater-sqlite-contract-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

runEventStoreContract(
  'sqlite',
  async () => {
    const store = new SqliteEventStore({}, { storeId: `s${stores++}`, dataDir: root });
    await store.open();
    return store;
  },
  async (store: EventStore) => {
    await store.close();
    await rm(join(root, 'stores', store.storeId), { recursive: true, force: true });
  },
);
