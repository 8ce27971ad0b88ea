/**
 * PostgreSQL calls bounded by their caller, against a real server: a call given a deadline or an abort signal stops
 * at the server when its caller stops waiting (the statement is cancelled, a transaction rolled back), instead of
 * running on to the node's statement timeout, and its connection never carries the stop over to another call.
 *
 * The stores here have a statement timeout of a minute, so a call that ended only at that timeout would outlive the
 * test's own bound on it (`settlesWithin`): the tests fail that way without the bounds.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it, test } from 'node:test';
import pg from 'pg';
import { PostgresEventStore } from '../../src/store/postgres/index.ts';
import { quoteIdent } from '../../src/store/postgres/schema.ts';
import { startTestPostgres } from '../support/postgres.ts';
import { evs, rejectsWith } from './contract/support.ts';

/** Far beyond any bound below: a call that waits for it has ignored its caller. */
const STATEMENT_TIMEOUT_MS = 60_000;
/** How long a stopped call may take to settle before the test calls it ignored (scheduling noise included). */
const SETTLE_MS = 5_000;

const server = await startTestPostgres();
if ('skip' in server) {
  test('PostgreSQL calls bounded by their caller', { skip: server.skip }, () => {});
} else {
  const url = await server.createDatabase();
  const admin = new pg.Pool({ connectionString: url, max: 3 });
  after(async () => {
    await admin.end();
    await server.stop();
  });

  /** A store whose connections carry an application name of their own, so the test can find them at the server. */
  const openStore = async (poolSize = 4) => {
    const applicationName = `gater-bounds-${randomUUID().slice(0, 8)}`;
    const store = new PostgresEventStore(
      {},
      {
        storeId: `b${randomUUID().slice(0, 8)}`,
        url,
        poolSize,
        applicationName,
        statementTimeoutMs: STATEMENT_TIMEOUT_MS,
      },
    );
    await store.open();
    const sessions = async (where = 'true') =>
      (
        await admin.query<{ pid: number; state: string; wait: string | null; query: string }>(
          'SELECT pid, state, wait_event_type AS wait, query FROM pg_stat_activity ' +
            `WHERE application_name = $1 AND ${where}`,
          [applicationName],
        )
      ).rows;
    /** Statements of this store waiting for a lock at the server. */
    const waiting = async () => (await sessions("wait_event_type = 'Lock'")).length;
    const drop = async () => {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(store.schema)} CASCADE`);
    };
    return { store, sessions, waiting, drop };
  };

  /** A session of another client holding `lockSql` in an open transaction until `release`. */
  const holdLock = async (lockSql: string) => {
    const holder = await admin.connect();
    await holder.query('BEGIN');
    await holder.query(lockSql);
    let released = false;
    return async (outcome: 'COMMIT' | 'ROLLBACK' = 'ROLLBACK') => {
      if (released) return;
      released = true;
      await holder.query(outcome).catch(() => {});
      holder.release();
    };
  };

  /** `promise`, failing the test if it has not settled within SETTLE_MS. */
  const settlesWithin = async <T>(promise: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      const ignored = new Error(`${what} still runs ${SETTLE_MS} ms after its caller stopped waiting`);
      timer = setTimeout(() => reject(ignored), SETTLE_MS);
    });
    try {
      return await Promise.race([promise, late]);
    } finally {
      clearTimeout(timer);
    }
  };

  const eventually = async (what: string, check: () => Promise<boolean>): Promise<void> => {
    const until = Date.now() + SETTLE_MS;
    while (!(await check())) {
      if (Date.now() > until) assert.fail(`${what}: not within ${SETTLE_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  describe('PostgreSQL calls bounded by their caller', () => {
    it('cancels a read at the server when its deadline passes, and the pool serves the next calls', async () => {
      const { store, waiting, drop } = await openStore();
      await store.append('s', evs(3));
      const release = await holdLock(`LOCK TABLE ${quoteIdent(store.schema)}.events IN ACCESS EXCLUSIVE MODE`);
      try {
        const reads: [string, () => Promise<unknown>][] = [
          ['readStream', () => store.readStream('s', { count: 10 }, { deadlineAt: Date.now() + 300 })],
          ['readFiltered', () => store.readFiltered({}, 0, 10, { deadlineAt: Date.now() + 300 })],
          ['streamVersion', () => store.streamVersion('s', { deadlineAt: Date.now() + 300 })],
          ['listStreams', () => store.listStreams({ deadlineAt: Date.now() + 300 })],
          ['stats', () => store.stats({ deadlineAt: Date.now() + 300 })],
        ];
        for (const [name, read] of reads) {
          const err = await settlesWithin(rejectsWith(read(), 'timeout'), name);
          assert.match(err.message, /deadline .* passed; its statement was stopped/, `${name}: ${err.message}`);
          await eventually(`${name}'s statement to be cancelled at the server`, async () => (await waiting()) === 0);
        }
      } finally {
        await release();
      }
      // The stopped calls' connections were discarded, not handed to these.
      assert.equal(await store.streamVersion('s', { deadlineAt: Date.now() + 5_000 }), 2);
      assert.equal((await store.readStream('s', { count: 10 })).length, 3);
      await drop();
    });

    it('rolls back a deletion that waits for the store lock past its deadline: it never happens later', async () => {
      const { store, waiting, drop } = await openStore();
      await store.append('victim', evs(2));
      const release = await holdLock(`SELECT 1 FROM ${quoteIdent(store.schema)}.store_head FOR UPDATE`);
      try {
        const deleting = rejectsWith(store.deleteStream('victim', { deadlineAt: Date.now() + 300 }), 'timeout');
        await settlesWithin(deleting, 'the deletion');
        await eventually('the deletion to stop waiting at the server', async () => (await waiting()) === 0);
      } finally {
        await release('COMMIT');
      }
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await store.streamVersion('victim'), 1, 'the stream is still there');
      await drop();
    });

    it('stops subscription reads and a removal at the deadline: the subscription is still there after', async () => {
      const { store, waiting, drop } = await openStore();
      await store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'sub' });
      const release = await holdLock(`LOCK TABLE ${quoteIdent(store.schema)}.subscriptions IN ACCESS EXCLUSIVE MODE`);
      try {
        const calls: [string, () => Promise<unknown>][] = [
          ['getSubscription', () => store.getSubscription('sub', { deadlineAt: Date.now() + 300 })],
          ['listParked', () => store.listParked('sub', { deadlineAt: Date.now() + 300 })],
          ['listSubscriptions', () => store.listSubscriptions({ deadlineAt: Date.now() + 300 })],
          ['removeSubscription', () => store.removeSubscription('by_stream', '$all', 'sub', { deadlineAt: Date.now() + 300 })],
        ];
        for (const [name, call] of calls) {
          await settlesWithin(rejectsWith(call(), 'timeout'), name);
          await eventually(`${name}'s statement to be cancelled at the server`, async () => (await waiting()) === 0);
        }
      } finally {
        await release('COMMIT');
      }
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await store.getSubscription('sub'))?.name, 'sub');
      await drop();
    });

    it('stops a call whose caller aborts, as unavailable and not delivered', async () => {
      const { store, waiting, drop } = await openStore();
      await store.recordSnapshot({ sourceUuid: 'src', streamUuid: 's', version: 1, data: { n: 1 } });
      const release = await holdLock(`LOCK TABLE ${quoteIdent(store.schema)}.snapshots IN ACCESS EXCLUSIVE MODE`);
      try {
        const controller = new AbortController();
        const reading = rejectsWith(store.listSnapshots({}, { signal: controller.signal }), 'unavailable');
        await eventually('the read to wait for the lock', async () => (await waiting()) === 1);
        controller.abort();
        const err = await settlesWithin(reading, 'the aborted read');
        assert.equal(err.data['delivered'], false);
        await eventually('the read to be cancelled at the server', async () => (await waiting()) === 0);
        // A signal already aborted sends nothing.
        await rejectsWith(store.readSnapshot('src', 's', 1, { signal: controller.signal }), 'unavailable');
      } finally {
        await release();
      }
      assert.equal((await store.readSnapshot('src', 's', 1)).version, 1);
      await drop();
    });

    it('stops waiting for a pooled connection at the deadline, and gives back the one that comes later', async () => {
      // One connection, held by a read without a deadline that waits for a lock.
      const { store, drop } = await openStore(1);
      await store.append('s', evs(1));
      const release = await holdLock(`LOCK TABLE ${quoteIdent(store.schema)}.events IN ACCESS EXCLUSIVE MODE`);
      let patient: Promise<number> | undefined;
      try {
        patient = store.streamVersion('s');
        await new Promise((r) => setTimeout(r, 200));
        const listing = rejectsWith(store.listStreams({ deadlineAt: Date.now() + 300 }), 'timeout');
        const err = await settlesWithin(listing, 'the wait');
        assert.match(err.message, /deadline/);
      } finally {
        await release();
      }
      assert.equal(await patient, 0);
      // The connection the stopped call was still waiting for went back to the pool: these do not hang.
      for (let i = 0; i < 3; i++) {
        assert.equal(await settlesWithin(store.streamVersion('s', { deadlineAt: Date.now() + 5_000 }), 'a read'), 0);
      }
      await drop();
    });

    it('gives the connection of a call that ended in time back to the pool, to serve the next calls', async () => {
      const { store, sessions, drop } = await openStore(2);
      await store.append('s', evs(1));
      const bounded = () =>
        store.readStream('s', { count: 1 }, { deadlineAt: Date.now() + 5_000, signal: new AbortController().signal });
      /** Sessions of this store whose last statement was a read of a stream (the pool's, not the listener's). */
      const readers = async () =>
        (await sessions("backend_type = 'client backend'"))
          .filter((s) => /\.events e WHERE e\.sid/.test(s.query))
          .map((s) => s.pid);
      await bounded();
      const first = await readers();
      assert.equal(first.length, 1, 'the read ran on a pooled session that is still open');
      for (let i = 0; i < 20; i++) await bounded();
      assert.deepEqual(await readers(), first, 'the same session served every read');
      await drop();
    });
  });
}
