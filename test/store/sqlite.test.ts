/** The SQLite backend: the EventStore contract, then what only the embedded engine promises. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { EventStore } from '../../src/store/event-store.ts';
import { SqliteEventStore, storeDatabasePath, SCHEMA_VERSION } from '../../src/store/sqlite/index.ts';
import { openStoreDatabase } from '../../src/store/sqlite/database.ts';
import { EventDecoder } from '../../src/store/event-rows.ts';
import { FilterReader } from '../../src/store/sqlite/filter-reader.ts';
import { StreamIndex } from '../../src/store/sqlite/stream-index.ts';
import type { EventFilter } from '../../src/store/types.ts';
import { runEventStoreContract } from './contract.ts';
import { ev, evs, readAll, rejectsWith } from './contract/support.ts';

let root = '';
let stores = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gater-sqlite-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function openStore(storeId = `s${stores++}`, init: { maxBatchEvents?: number } = {}): Promise<SqliteEventStore> {
  const store = new SqliteEventStore({}, { storeId, dataDir: root, ...init });
  await store.open();
  return store;
}

runEventStoreContract('sqlite', () => openStore(), async (store: EventStore) => {
  await store.close();
  await rm(join(root, 'stores', store.storeId), { recursive: true, force: true });
});

describe('SQLite group commit', () => {
  it('commits appends issued together in one batch: a stale expected version fails alone, versions stay contiguous', async () => {
    const store = await openStore();
    try {
      await store.append('s', evs(2));
      const before = store.commitCounters;
      const results = await Promise.allSettled([
        store.append('s', evs(1, 'A'), { expectedVersion: 1 }),
        store.append('s', evs(1, 'Stale'), { expectedVersion: 0 }),
        store.append('s', evs(2, 'B')),
        store.append('t', evs(1, 'C'), { expectedVersion: -1 }),
        store.append('s', [ev('Dup', { eventId: '0190a3c4-0000-7000-8000-000000000001' })]),
        store.append('u', [ev('Dup', { eventId: '0190a3c4-0000-7000-8000-000000000001' })]),
        store.append('s', evs(1, 'D'), { expectedVersion: 5 }),
      ]);
      assert.deepEqual(
        { batches: store.commitCounters.batches - before.batches, appends: store.commitCounters.appends - before.appends },
        { batches: 1, appends: 7 },
        'all in one batch',
      );
      assert.deepEqual(
        results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code: string }).code)),
        [
          { version: 2, position: 2 },
          'wrong_expected_version',
          { version: 4, position: 4 },
          { version: 0, position: 5 },
          { version: 5, position: 6 },
          'invalid_argument',
          { version: 6, position: 7 },
        ],
      );
      assert.deepEqual(
        (await store.readStream('s', { count: 100 })).map((e) => [e.version, e.position, e.eventType]),
        [
          [0, 0, 'Happened'],
          [1, 1, 'Happened'],
          [2, 2, 'A'],
          [3, 3, 'B'],
          [4, 4, 'B'],
          [5, 6, 'Dup'],
          [6, 7, 'D'],
        ],
      );
      assert.equal(await store.streamVersion('u'), -1);
    } finally {
      await store.close();
    }
  });

  it('bounds a batch by its number of events', async () => {
    const store = await openStore(undefined, { maxBatchEvents: 10 });
    try {
      const before = store.commitCounters.batches;
      await Promise.all([
        ...Array.from({ length: 5 }, (_, i) => store.append(`s${i}`, evs(4))),
        store.append('big', evs(25)),
      ]);
      // 4+4 | 4+4 | 4 | 25 (an append larger than the bound still goes, alone)
      assert.equal(store.commitCounters.batches - before, 4);
      assert.equal((await readAll(store)).length, 45);
    } finally {
      await store.close();
    }
  });

  it('finishes queued appends on close, then refuses appends', async () => {
    const store = await openStore();
    const pending = Array.from({ length: 20 }, (_, i) => store.append(`s${i % 3}`, evs(1)));
    const closed = store.close();
    await rejectsWith(store.append('late', evs(1)), 'unavailable');
    await closed;
    assert.equal((await Promise.all(pending)).length, 20);
    await store.close();
    await rejectsWith(store.readStream('s0', { count: 1 }), 'unavailable');
    await rejectsWith(store.open(), 'unavailable');

    const reopened = new SqliteEventStore({}, { storeId: store.storeId, dataDir: root });
    await rejectsWith(reopened.stats(), 'unavailable');
    await reopened.open();
    await reopened.open();
    assert.equal((await reopened.stats()).lastPosition, 19);
    await reopened.close();
  });
});

describe('SQLite persistence', () => {
  it('continues positions and versions after close and reopen, and never reuses a deleted tail', async () => {
    const storeId = `persist-${stores++}`;
    const first = await openStore(storeId);
    await first.append('a', evs(3));
    await first.append('b', [ev('B', { tags: ['t'] })]);
    await first.append('tail', evs(2));
    await first.deleteStream('tail');
    await first.recordSnapshot({ sourceUuid: 'src', streamUuid: 'a', version: 2, data: { x: 1 } });
    await first.saveSubscription({ type: 'by_stream', selector: 'a', name: 'sub' });
    await first.saveCheckpoint('sub', 2);
    const before = await readAll(first);
    await first.close();

    const second = await openStore(storeId);
    try {
      assert.deepEqual(await readAll(second), before);
      assert.equal(await second.streamVersion('a'), 2);
      assert.deepEqual(await second.append('a', evs(1)), { version: 3, position: 6 });
      assert.deepEqual(await second.append('b', evs(1), { expectedVersion: 0 }), { version: 1, position: 7 });
      assert.deepEqual((await second.readSnapshot('src', 'a', 0)).data, { x: 1 });
      assert.equal((await second.getSubscription('sub'))?.checkpoint, 2);
      assert.deepEqual(
        (await second.readFiltered({ tags: ['t'] }, 0, 10)).events.map((e) => e.position),
        [3],
      );
    } finally {
      await second.close();
    }
  });

  it('records its schema version and refuses a database from a newer gater', async () => {
    const store = await openStore();
    await store.close();
    const db = new DatabaseSync(store.path);
    assert.equal((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, SCHEMA_VERSION);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const newer = new SqliteEventStore({}, { storeId: store.storeId, dataDir: root });
    const err = await rejectsWith(newer.open(), 'unavailable');
    assert.match(err.message, /newer/);
  });

  it('refuses a database that belongs to another store', async () => {
    const store = await openStore('original');
    await store.close();
    const { mkdir, copyFile } = await import('node:fs/promises');
    await mkdir(join(root, 'stores', 'impostor'), { recursive: true });
    await copyFile(store.path, storeDatabasePath(root, 'impostor'));
    const err = await rejectsWith(openStore('impostor'), 'unavailable');
    assert.match(err.message, /original/);
  });

  it('keeps a second opener of an open store out', async () => {
    const store = await openStore();
    try {
      const err = await rejectsWith(openStore(store.storeId), 'unavailable');
      assert.match(err.message, /in use by another process/);
      await store.append('s', evs(1));
    } finally {
      await store.close();
    }
    const again = await openStore(store.storeId);
    assert.equal(await again.streamVersion('s'), 0);
    await again.close();
  });

  it('answers unavailable, naming the path, when the data directory or the database file cannot be used', async () => {
    const notADirectory = join(root, 'a-file');
    await writeFile(notADirectory, '');
    const blocked = new SqliteEventStore({}, { storeId: 'x', dataDir: notADirectory });
    const err = await rejectsWith(blocked.open(), 'unavailable');
    assert.equal(err.data['path'], join(notADirectory, 'stores', 'x'));
    assert.ok(err.message.includes(join(notADirectory, 'stores', 'x')), err.message);

    const fileIsDirectory = new SqliteEventStore({}, { storeId: 'y', dataDir: join(root, 'dir-in-the-way') });
    await mkdir(fileIsDirectory.path, { recursive: true });
    const err2 = await rejectsWith(fileIsDirectory.open(), 'unavailable');
    assert.equal(err2.data['path'], fileIsDirectory.path);
    assert.ok(err2.message.includes(fileIsDirectory.path), err2.message);
  });

  it('rejects a store id that is not a safe directory name', () => {
    for (const storeId of ['', '../etc', 'a/b', '.hidden', 'x'.repeat(129)]) {
      assert.throws(() => new SqliteEventStore({}, { storeId, dataDir: root }), { code: 'invalid_argument' });
    }
  });
});

describe('SQLite filtered reads use index range scans', () => {
  const filters: [string, EventFilter][] = [
    ['$all', {}],
    ['streamId', { streamId: 'gh-1' }],
    ['streamId with types and tags', { streamId: 'gh-1', types: ['T'], tags: ['a', 'b'] }],
    ['pattern', { streamPattern: 'gh-*' }],
    ['one type', { types: ['T'] }],
    ['several types', { types: ['T', 'U', 'V'] }],
    ['one tag', { tags: ['a'] }],
    ['tags, any', { tags: ['a', 'b'] }],
    ['tags, all', { tags: ['a', 'b', 'c'], tagMatch: 'all' }],
    ['types, tags and pattern', { types: ['T', 'U'], tags: ['a', 'b'], streamPattern: 'gh-?' }],
    ['minVersion alone', { minVersion: 3 }],
  ];
  for (const [name, filter] of filters) {
    it(name, async () => {
      const store = await openStore();
      await store.append('gh-1', evs(3));
      await store.close();
      const db = openStoreDatabase(store.path, store.storeId, 'FULL');
      try {
        const streams = new StreamIndex(db, 10);
        const plan = new FilterReader(db, streams, new EventDecoder(), 4).plan(filter, 1, 100);
        assert.ok(plan.length > 0);
        for (const step of plan) {
          // A SCAN of a table or index reads all of it; SCANs of a bounded subquery's rows or of json_each are fine.
          assert.doesNotMatch(step, /^SCAN (e|t|x|s|events|event_tags|streams)\b/, `${name}: ${plan.join(' | ')}`);
        }
        assert.ok(
          plan.some((step) => /^SEARCH (e|t) USING/.test(step)),
          `${name} is driven by an index search: ${plan.join(' | ')}`,
        );
      } finally {
        db.close();
      }
    });
  }
});
