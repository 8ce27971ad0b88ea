/** Real SQLite stores in temporary directories, for the tests that prove the subscription engine. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../../src/store/sqlite/index.ts';
import type { NewEvent, RecordedEvent } from '../../../../src/store/types.ts';

export const STORE_ID = 'subscriptions-test';

export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'gater-subscriptions-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function openStore(
  dataDir: string,
  options: { storeId?: string; synchronous?: 'FULL' | 'NORMAL' } = {},
): Promise<SqliteEventStore> {
  const store = new SqliteEventStore({}, { storeId: options.storeId ?? STORE_ID, dataDir, ...(options.synchronous === undefined ? {} : { synchronous: options.synchronous }) });
  await store.open();
  return store;
}

/** `count` events of the given shape, numbered in `data.n`. */
export function newEvents(count: number, shape: Partial<NewEvent> = {}): NewEvent[] {
  return Array.from({ length: count }, (_, n) => ({ eventType: 'reading:v1', data: { n }, ...shape }));
}

/** Every event of the store, by position (paged: the store caps one read). */
export async function readAllEvents(store: SqliteEventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for (let from = 0; ; ) {
    const page = await store.readFiltered({}, from, 10_000);
    out.push(...page.events);
    if (page.events.length < 10_000) return out;
    from = page.scannedTo + 1;
  }
}
