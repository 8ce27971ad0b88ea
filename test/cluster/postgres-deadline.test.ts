/**
 * A node serving a PostgreSQL store, driven over HTTP as a user would: a call's deadline (`x-gater-deadline-ms`)
 * reaches the database. A read or a deletion held up at the server answers `timeout` at its deadline and stops there
 * (the statement is cancelled, the deletion rolled back), instead of running on to the node's statement timeout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import pg from 'pg';
import { schemaNameFor, quoteIdent } from '../../src/store/postgres/schema.ts';
import { TestCluster, waitFor } from '../support/gater-process.ts';
import { startTestPostgres } from '../support/postgres.ts';

const server = await startTestPostgres();
if ('skip' in server) {
  test('a PostgreSQL store call bounded by its caller\'s deadline', { skip: server.skip }, () => {});
} else {
  describe('a PostgreSQL store call bounded by its caller\'s deadline', () => {
    const cluster = new TestCluster();
    const node = cluster.add('pg', { stores: ['one'], env: {} });
    let admin: pg.Pool;
    const schema = quoteIdent(schemaNameFor('one'));

    before(async () => {
      const url = await server.createDatabase();
      admin = new pg.Pool({ connectionString: url, max: 2 });
      Object.assign(node.options.env!, { GATER_STORE_BACKEND: 'postgres', GATER_PG_URL: url });
      await cluster.startAll();
    });
    after(async () => {
      await cluster.close();
      await admin.end();
      await server.stop();
    });

    /** The node's statements waiting for a lock at the server. */
    const waiting = async (): Promise<number> =>
      (
        await admin.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity ' +
            "WHERE application_name LIKE 'gater:one@%' AND wait_event_type = 'Lock'",
        )
      ).rows[0]!.n;

    /** Runs `during` while another session holds `lockSql`, then lets the lock go with `outcome`. */
    const whileLocked = async (lockSql: string, during: () => Promise<void>): Promise<void> => {
      const holder = await admin.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(lockSql);
        await during();
      } finally {
        await holder.query('COMMIT').catch(() => {});
        holder.release();
      }
    };

    it('answers 504 at the deadline and leaves nothing running at the database', async () => {
      const event = { eventType: 'Happened', data: {} };
      const appended = await node.post('/v1/stores/one/streams/s/events', { events: [event] });
      assert.equal(appended.status, 200, JSON.stringify(appended.body));

      await whileLocked(`LOCK TABLE ${schema}.events IN ACCESS EXCLUSIVE MODE`, async () => {
        const reading = node.json('/v1/stores/one/streams/s/events', {
          headers: { 'x-gater-deadline-ms': '1500' },
          signal: AbortSignal.timeout(6_000),
        });
        await waitFor('the read to wait for the lock at the server', async () => (await waiting()) === 1, 3_000, 50);
        const read = await reading;
        assert.equal(read.status, 504, JSON.stringify(read.body));
        assert.equal(read.body.error.code, 'timeout');
        // Before: the read waited at the server for the lock until the node's statement timeout (5 s).
        await waitFor('the read to be cancelled at the database', async () => (await waiting()) === 0, 3_000, 50);
      });

      await whileLocked(`SELECT 1 FROM ${schema}.store_head FOR UPDATE`, async () => {
        const deleting = node.json('/v1/stores/one/streams/s', {
          method: 'DELETE',
          headers: { 'x-gater-deadline-ms': '1500' },
          signal: AbortSignal.timeout(6_000),
        });
        await waitFor('the deletion to wait for the lock at the server', async () => (await waiting()) === 1, 3_000, 50);
        const deleted = await deleting;
        assert.equal(deleted.status, 504, JSON.stringify(deleted.body));
        await waitFor('the deletion to be stopped at the database', async () => (await waiting()) === 0, 3_000, 50);
      });
      // The lock is free now: a deletion still queued would go through; the stopped one never happens.
      await new Promise((r) => setTimeout(r, 300));
      const version = await node.json('/v1/stores/one/streams/s/version');
      assert.deepEqual(version.body, { version: 0 });
    });
  });
}
