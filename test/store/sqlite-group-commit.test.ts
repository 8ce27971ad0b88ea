/**
 * Group commit when storage fails, on a real database: an append whose write fails alone fails alone; a batch whose
 * BEGIN or COMMIT fails fails entirely with `unavailable`, leaves nothing on disk, and the in-memory positions and
 * stream versions follow the disk afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, type DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { GaterError } from '../../src/errors/index.ts';
import { parseExpectedVersion } from '../../src/store/expected-version.ts';
import { AppendWriter } from '../../src/store/sqlite/append-writer.ts';
import { openStoreDatabase } from '../../src/store/sqlite/database.ts';
import { EventDecoder } from '../../src/store/event-rows.ts';
import { GroupCommit } from '../../src/store/sqlite/group-commit.ts';
import { StreamIndex } from '../../src/store/sqlite/stream-index.ts';
import type { AppendResult, NewEvent, RecordedEvent } from '../../src/store/types.ts';
import { prepareEvents } from '../../src/store/validate.ts';
import { evs } from './contract/support.ts';

let root = '';
let rigs = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gater-group-commit-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The store's write path, assembled as the store assembles it, around a database the test can also reach. */
class Rig {
  readonly db: DatabaseSync;
  readonly streams: StreamIndex;
  readonly commits: GroupCommit;
  readonly announced: RecordedEvent[] = [];

  constructor() {
    this.db = openStoreDatabase(join(root, `rig-${rigs++}.sqlite`), 'rig', 'FULL');
    this.streams = new StreamIndex(this.db, 100);
    const nextPosition = this.db.prepare('SELECT coalesce(max(position), -1) + 1 AS next FROM events');
    this.commits = new GroupCommit(
      {
        db: this.db,
        writer: new AppendWriter(this.db, this.streams),
        streams: this.streams,
        decoder: new EventDecoder(),
        logger: pino({ level: 'silent' }),
        loadNextPosition: () => Number(nextPosition.get()!['next']),
        onCommitted: (events) => this.announced.push(...events),
        wantsEvents: () => true,
        // The store reopens its database here; sqlite-commit-outcome.test.ts covers that, with a failing disk.
        onOutcomeUnknown: () => {},
      },
      { maxBatchEvents: 10_000 },
    );
  }

  append(streamId: string, events: NewEvent[], expectedVersion?: number): Promise<AppendResult> {
    const { promise, resolve, reject } = Promise.withResolvers<AppendResult>();
    this.commits.enqueue({
      streamId,
      prepared: prepareEvents(events),
      expectedVersion: parseExpectedVersion(expectedVersion),
      resolve,
      reject,
    });
    return promise;
  }

  /** (stream, version, position) of every event on disk, by position. */
  onDisk(): [string, number, number][] {
    return this.db
      .prepare(
        'SELECT s.stream_id AS s, e.version AS v, e.position AS p FROM events e JOIN streams s ON s.sid = e.sid ' +
          'ORDER BY e.position',
      )
      .all()
      .map((r) => [String(r['s']), Number(r['v']), Number(r['p'])]);
  }

  close(): void {
    this.db.close();
  }
}

function outcome(r: PromiseSettledResult<AppendResult>): AppendResult | string {
  return r.status === 'fulfilled' ? r.value : (r.reason as GaterError).code;
}

describe('group commit under storage failures', () => {
  // SQLITE_FULL undoes either the failing statement or, for some statements, the whole transaction (taking the
  // appends before it along). Each case below may end either way; either way the disk must hold exactly what was
  // acknowledged, and memory must follow the disk.
  const fullCases: [string, NewEvent[]][] = [
    ['one huge event', [{ eventType: 'Huge', data: { pad: 'x'.repeat(200_000) } }]],
    ['many big events', Array.from({ length: 200 }, (_, i) => ({ eventType: 'Big', data: { i, pad: 'x'.repeat(2_000) } }))],
  ];
  for (const [name, big] of fullCases) {
    it(`fails the append that fills the database (${name}), and the others only if SQLite undid them too`, async () => {
      const rig = new Rig();
      try {
        await rig.append('a', evs(1));
        const pages = Number(rig.db.prepare('PRAGMA page_count').get()!['page_count']);
        rig.db.exec(`PRAGMA max_page_count = ${pages + 2}`);
        const results = (
          await Promise.allSettled([rig.append('a', evs(1), 0), rig.append('b', big), rig.append('a', evs(1), 1)])
        ).map(outcome);
        assert.equal(results[1], 'unavailable');
        assert.equal(rig.db.isTransaction, false);
        if (results[0] === 'unavailable') {
          assert.deepEqual(results, ['unavailable', 'unavailable', 'unavailable']);
          assert.deepEqual(rig.onDisk(), [['a', 0, 0]]);
        } else {
          assert.deepEqual(results, [{ version: 1, position: 1 }, 'unavailable', { version: 2, position: 2 }]);
          assert.deepEqual(rig.onDisk(), [
            ['a', 0, 0],
            ['a', 1, 1],
            ['a', 2, 2],
          ]);
        }
        const onDisk = rig.onDisk();
        assert.equal(rig.commits.nextPosition, onDisk.length);
        assert.equal(rig.streams.get('a')?.version, onDisk.length - 1);
        assert.equal(rig.streams.get('b'), undefined);

        rig.db.exec('PRAGMA max_page_count = 1073741823');
        assert.deepEqual(await rig.append('a', evs(1), onDisk.length - 1), {
          version: onDisk.length,
          position: onDisk.length,
        });
        assert.deepEqual(await rig.append('b', evs(1), -1), { version: 0, position: onDisk.length + 1 });
      } finally {
        rig.close();
      }
    });
  }

  it('fails every append of a batch whose COMMIT fails, writes nothing, and follows the disk afterwards', async () => {
    const rig = new Rig();
    try {
      await rig.append('a', evs(2));
      // A deferred foreign key broken by one event makes COMMIT itself fail, after every append of the batch went in.
      rig.db.exec('PRAGMA foreign_keys = ON');
      rig.db.exec(`
        CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TEMP TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
        CREATE TEMP TRIGGER poison AFTER INSERT ON events WHEN NEW.event_type = 'Poison'
        BEGIN INSERT INTO child (parent) VALUES (42); END;
      `);
      const announcedBefore = rig.announced.length;
      const results = await Promise.allSettled([
        rig.append('a', evs(1), 1),
        rig.append('new', evs(2)),
        rig.append('a', evs(1, 'Poison')),
        rig.append('a', evs(1), 0),
      ]);
      assert.deepEqual(results.map(outcome), ['unavailable', 'unavailable', 'unavailable', 'unavailable']);
      assert.equal(rig.db.isTransaction, false);
      assert.deepEqual(rig.onDisk(), [
        ['a', 0, 0],
        ['a', 1, 1],
      ]);
      assert.equal(rig.announced.length, announcedBefore, 'nothing announced');
      assert.equal(rig.commits.nextPosition, 2);
      assert.equal(rig.streams.get('a')?.version, 1);
      assert.equal(rig.streams.get('new'), undefined);

      rig.db.exec('DROP TRIGGER poison');
      assert.deepEqual(await rig.append('a', evs(1), 1), { version: 2, position: 2 });
      assert.deepEqual(await rig.append('new', evs(1), -1), { version: 0, position: 3 });
    } finally {
      rig.close();
    }
  });

  it('fails every append of a batch whose BEGIN fails', async () => {
    const rig = new Rig();
    try {
      await rig.append('a', evs(1));
      rig.db.exec('BEGIN');
      const results = await Promise.allSettled([rig.append('a', evs(1)), rig.append('b', evs(1))]);
      assert.deepEqual(results.map(outcome), ['unavailable', 'unavailable']);
      rig.db.exec('ROLLBACK');
      assert.deepEqual(rig.onDisk(), [['a', 0, 0]]);
      assert.deepEqual(await rig.append('a', evs(1), 0), { version: 1, position: 1 });
    } finally {
      rig.close();
    }
  });

  it('fails an append whose SAVEPOINT fails, with its own error, and commits the others of its batch', async () => {
    const rig = new Rig();
    try {
      await rig.append('a', evs(1));
      // An authorizer that refuses the next SAVEPOINT makes that statement fail (SQLITE_AUTH) while the batch's
      // transaction stays open. Setting it makes SQLite prepare every statement again, so it is asked at once.
      let refusals = 1;
      rig.db.setAuthorizer((action) =>
        action === constants.SQLITE_SAVEPOINT && refusals-- > 0 ? constants.SQLITE_DENY : constants.SQLITE_OK,
      );
      const results = await Promise.allSettled([rig.append('a', evs(1), 0), rig.append('b', evs(1))]);
      rig.db.setAuthorizer(null);
      assert.deepEqual(results.map(outcome), ['unavailable', { version: 0, position: 1 }]);
      assert.deepEqual(rig.onDisk(), [
        ['a', 0, 0],
        ['b', 0, 1],
      ]);
      assert.deepEqual(await rig.append('a', evs(1), 0), { version: 1, position: 2 });
    } finally {
      rig.close();
    }
  });

  it('announces committed events in position order, without the failed ones', async () => {
    const rig = new Rig();
    try {
      await Promise.allSettled([
        rig.append('a', evs(2, 'A')),
        rig.append('b', evs(1, 'B'), 3),
        rig.append('c', evs(1, 'C')),
      ]);
      assert.deepEqual(
        rig.announced.map((e) => [e.streamId, e.eventType, e.version, e.position]),
        [
          ['a', 'A', 0, 0],
          ['a', 'A', 1, 1],
          ['c', 'C', 0, 2],
        ],
      );
    } finally {
      rig.close();
    }
  });
});
