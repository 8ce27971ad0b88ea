/**
 * The PostgreSQL backend against a real server started by this file: the EventStore contract, then what only this
 * backend promises (a schema per store, migrations safe when several nodes open a store at once).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it, test } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import type { EventStore } from '../../src/store/event-store.ts';
import type { EventFilter } from '../../src/store/types.ts';
import { MIGRATIONS, PostgresEventStore, schemaNameFor } from '../../src/store/postgres/index.ts';
import { migrate, quoteIdent } from '../../src/store/postgres/schema.ts';
import { clientConfig, storageError, storeTypes } from '../../src/store/postgres/database.ts';
import { FilterReader } from '../../src/store/postgres/filter-reader.ts';
import { ReconnectingClient } from '../../src/store/postgres/reconnecting-client.ts';
import { SubscriptionLeases } from '../../src/store/postgres/subscription-leases.ts';
import { TcpRelay } from '../support/tcp-relay.ts';
import { SqlRunner } from '../../src/store/postgres/sql-runner.ts';
import { EventDecoder } from '../../src/store/event-rows.ts';
import {
  CONNECTION_KEEPALIVE_COUNT,
  CONNECTION_KEEPALIVE_IDLE_S,
  CONNECTION_KEEPALIVE_INTERVAL_S,
  FILTER_PREPARED_SHAPES,
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TIMEOUT_MS,
} from '../../src/store/postgres/constants.ts';
import { jsonTextList, jsonTextsSql, scalarArrayLiteral, textArrayLiteral, uuidList, uuidsSql } from '../../src/store/postgres/array-parameters.ts';
import { startTestPostgres } from '../support/postgres.ts';
import { runEventStoreContract } from './contract.ts';
import { ev, evs, rejectsWith } from './contract/support.ts';

const server = await startTestPostgres();
if ('skip' in server) {
  test('PostgreSQL backend', { skip: server.skip }, () => {});
} else {
  const url = await server.createDatabase();
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  after(async () => {
    await admin.end();
    await server.stop();
  });
  let stores = 0;
  const openStore = async (storeId = `s${stores++}`): Promise<PostgresEventStore> => {
    const store = new PostgresEventStore({}, { storeId, url, poolSize: 4 });
    await store.open();
    return store;
  };
  const eventuallyTrue = async (check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > until) assert.fail('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const dropStore = async (store: EventStore): Promise<void> => {
    await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${(store as PostgresEventStore).schema}" CASCADE`);
  };

  runEventStoreContract(`postgres (${server.version})`, () => openStore(), dropStore);

  /** A dedicated connection through `port` (the server's, or a relay's) with a heartbeat every 100 ms, silent at 300. */
  const heartbeatConnection = (port: number, onLost: () => void): ReconnectingClient =>
    new ReconnectingClient(
      { logger: pino({ level: 'silent' }) },
      {
        config: { connectionString: url.replace(`:${server.port}/`, `:${port}/`) },
        purpose: 'test',
        minDelayMs: 100,
        maxDelayMs: 100,
        heartbeatIntervalMs: 100,
        heartbeatTimeoutMs: 300,
        onLost,
      },
    );

  describe('connections that fail or go silent', () => {
    it('a connection killed while a deletion holds it fails that call with unavailable; the node lives on', async () => {
      const store = new PostgresEventStore({}, { storeId: `del${stores++}`, url, poolSize: 4, applicationName: 'victim' });
      await store.open();
      const holder = await admin.connect();
      try {
        await store.append('s', evs(1));
        // The store's lock held elsewhere: the deletion waits inside its transaction, on a checked-out connection.
        await holder.query('BEGIN');
        await holder.query(`SELECT next_position FROM ${quoteIdent(store.schema)}.store_head FOR UPDATE`);
        const deletion = rejectsWith(store.deleteStream('s'), 'unavailable');
        let killed = 0;
        for (let i = 0; i < 100 && killed === 0; i++) {
          await new Promise((r) => setTimeout(r, 20));
          const { rows } = await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim' AND query LIKE '%FOR UPDATE%'",
          );
          killed = rows.length;
        }
        assert.equal(killed, 1);
        // Before: the dead connection's 'error' event had no listener, and ended the process.
        await deletion;
        await holder.query('ROLLBACK');
        assert.equal(await store.streamVersion('s'), 0);
        await store.deleteStream('s');
        assert.equal(await store.streamVersion('s'), -1);
      } finally {
        holder.release();
        await dropStore(store);
      }
    });

    it('every connection has the server end idle transactions and probe silent peers', async () => {
      const settings = { url, max: 1, statementTimeoutMs: 5000, connectTimeoutMs: 5000, idleMs: 1000, applicationName: 'settings' };
      const client = new pg.Client(clientConfig(settings, storeTypes()));
      await client.connect();
      try {
        const show = async (name: string) => (await client.query(`SELECT current_setting('${name}') AS v`)).rows[0].v;
        assert.equal(await show('idle_in_transaction_session_timeout'), '10s');
        assert.equal(await show('tcp_keepalives_idle'), '5');
        assert.equal(await show('tcp_keepalives_count'), '3');
        // Probes never start while an answer is unacknowledged: the server gives up on one after 11 s too.
        assert.equal(await show('tcp_user_timeout'), '11000'); // milliseconds
        assert.equal(await show('jit'), 'off');
        // A transaction left idle past the timeout is ended by the server (and its locks with it).
        await client.query('SET idle_in_transaction_session_timeout = 200');
        const ended = new Promise<void>((resolve) => client.once('error', () => resolve()));
        await client.query('BEGIN');
        await ended;
      } finally {
        await client.end().catch(() => {});
      }
    });

    it('keeps a dedicated connection whose heartbeat answer arrived while this process was stalled', async () => {
      // Answers take 50 ms to come back; while the first heartbeat's is on its way, this process stalls past the
      // heartbeat's timeout. When it wakes, the answer is in the socket, unread, and the timeout has expired too.
      const relay = await TcpRelay.start(server.port, { replyDelayMs: 50 });
      let lost = 0;
      const connection = heartbeatConnection(relay.port, () => lost++);
      try {
        const client = await connection.connection();
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        let stalled = false;
        (client as { query: unknown }).query = (...args: unknown[]) => {
          const result = query(...args);
          if (!stalled) {
            stalled = true;
            setTimeout(() => {
              const until = Date.now() + 600;
              while (Date.now() < until); // a synchronous stall (a long collection, a long computation)
            }, 10);
          }
          return result;
        };
        await new Promise((r) => setTimeout(r, 1_500));
        assert.equal(stalled, true);
        assert.equal(lost, 0, 'not dropped: its answer had come');
        assert.equal(connection.current, client);
      } finally {
        await connection.stop();
        await relay.close();
      }
    });

    it('keeps a dedicated connection whose heartbeat waits behind a burst of queries that are being answered', async () => {
      // Subscribers reconnecting together ask for many leases at once on the one lease connection: the heartbeat queued
      // behind them waits longer than its timeout, while their answers keep arriving.
      let lost = 0;
      const connection = heartbeatConnection(server.port, () => lost++);
      try {
        const client = await connection.connection();
        // 30 queries of 50 ms: 1.5 s of answers, five times the heartbeat's timeout.
        await Promise.all(
          Array.from({ length: 30 }, () => connection.serial(client, () => client.query('SELECT pg_sleep(0.05)'))),
        );
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(lost, 0, 'not dropped: the server kept answering');
        assert.equal(connection.current, client);
      } finally {
        await connection.stop();
      }
    });

    it('asks for leases one query at a time on their connection, heartbeat included', async () => {
      // pg queues a query given while another runs, but warns that pg 9 will refuse it.
      const outstanding = new Map<pg.Client, number>();
      let most = 0;
      const query = pg.Client.prototype.query;
      pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
        const result = (query as (...a: unknown[]) => unknown).apply(this, args);
        if (!(result instanceof Promise)) return result;
        outstanding.set(this, (outstanding.get(this) ?? 0) + 1);
        most = Math.max(most, outstanding.get(this)!);
        return result.finally(() => outstanding.set(this, outstanding.get(this)! - 1));
      } as typeof query;
      const leases = new SubscriptionLeases(
        { logger: pino({ level: 'silent' }) },
        {
          config: { connectionString: url },
          schemaName: `leases_${randomUUID().slice(0, 8)}`,
          upkeep: { minDelayMs: 100, maxDelayMs: 100, heartbeatIntervalMs: 5, heartbeatTimeoutMs: 3_000 },
        },
      );
      try {
        const held = await Promise.all(Array.from({ length: 40 }, (_, i) => leases.acquire(`sub-${i}`)));
        assert.equal(held.filter((l) => l !== undefined).length, 40);
        await Promise.all(held.map((l) => l!.release()));
        assert.ok(most >= 1);
        assert.equal(most, 1, 'at most one query outstanding on a connection');
      } finally {
        pg.Client.prototype.query = query;
        await leases.stop();
      }
    });

    it('drops a dedicated connection that goes silent', async () => {
      const relay = await TcpRelay.start(server.port);
      let lost = 0;
      const connection = heartbeatConnection(relay.port, () => lost++);
      try {
        await connection.connection();
        relay.silence();
        await new Promise((r) => setTimeout(r, 1_000));
        assert.equal(lost, 1, 'dropped within interval + timeout');
      } finally {
        await connection.stop();
        await relay.close();
      }
    });

    it('has the heartbeat give up on a connection within half the time the server takes', () => {
      // Another node may take a lease once the server's probes give up on this node's connection: by then this node
      // must have noticed the silence (an unanswered heartbeat) and stopped delivering, with time to spare.
      const serverGivesUpMs = (CONNECTION_KEEPALIVE_IDLE_S + CONNECTION_KEEPALIVE_COUNT * CONNECTION_KEEPALIVE_INTERVAL_S) * 1000;
      assert.ok(HEARTBEAT_INTERVAL_MS + HEARTBEAT_TIMEOUT_MS <= serverGivesUpMs / 2, 'half the window at most');
    });
  });

  describe('filter statements', () => {
    it('prepares the first FILTER_PREPARED_SHAPES shapes on a connection and runs the rest unprepared', async () => {
      const store = await openStore();
      const client = new pg.Client({ connectionString: url, types: storeTypes() });
      await client.connect();
      try {
        await store.append('s', [ev('T0', { tags: ['g0'] })]);
        const reader = new FilterReader(quoteIdent(store.schema), new SqlRunner(), new EventDecoder(), FILTER_PREPARED_SHAPES);
        const names = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
        // 64 type counts and 40 tag counts: 104 shapes, each read twice.
        const filters = [
          ...Array.from({ length: 64 }, (_, i) => ({ types: names(i + 1, 'T') })),
          ...Array.from({ length: 40 }, (_, i) => ({ tags: names(i + 1, 'g') })),
        ];
        for (let round = 0; round < 2; round++) {
          for (const filter of filters) {
            const read = await reader.read(client, filter, 0, 10);
            assert.equal(read.events.length, 1, 'each shape finds the one event');
          }
        }
        const { rows } = await client.query<{ n: number }>('SELECT count(*)::integer AS n FROM pg_prepared_statements');
        assert.equal(rows[0]!.n, FILTER_PREPARED_SHAPES, 'a bounded number kept on the connection');
      } finally {
        await client.end();
        await dropStore(store);
      }
    });
  });

  describe('server errors as GaterErrors', () => {
    it('a server that cannot write fails a batch at once, without writing its appends one by one', async () => {
      const readOnlyUrl = await server.createDatabase();
      const database = new URL(readOnlyUrl).pathname.slice(1);
      const logLines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });
      const store = new PostgresEventStore({ logger }, { storeId: 'ro', url: readOnlyUrl, poolSize: 2, applicationName: 'ro' });
      await store.open();
      try {
        await store.append('s', evs(1));
        // As on a standby: every new session is read-only; the store's sessions are ended, so its pool reconnects.
        await admin.query(`ALTER DATABASE ${quoteIdent(database)} SET default_transaction_read_only = on`);
        await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ro'");
        await new Promise((r) => setTimeout(r, 200));
        await store.append('s', evs(1)).catch(() => {}); // may meet a connection the pool has not dropped yet
        logLines.length = 0;
        const batchesBefore = store.commitCounters.batches;
        const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => store.append(`r-${i}`, evs(1))));
        for (const outcome of outcomes) {
          assert.equal(outcome.status, 'rejected');
          assert.equal((outcome as PromiseRejectedResult).reason.code, 'unavailable');
          assert.equal((outcome as PromiseRejectedResult).reason.data.sqlState, '25006');
        }
        assert.equal(store.commitCounters.batches - batchesBefore, 1, 'the five appends shared one batch');
        assert.deepEqual(logLines.filter((l) => l.includes('one by one')), []);
      } finally {
        await store.close();
        await admin.query(`ALTER DATABASE ${quoteIdent(database)} RESET default_transaction_read_only`);
      }
    });

    it('an append whose connection is lost with its statement sent has an unknown outcome; one never sent does not', async () => {
      const relay = await TcpRelay.start(server.port);
      const store = new PostgresEventStore({}, {
        storeId: `s${stores++}`,
        url: url.replace(`:${server.port}/`, `:${relay.port}/`),
        poolSize: 2,
      });
      await store.open();
      const holder = await admin.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT next_position FROM ${quoteIdent(store.schema)}.store_head FOR UPDATE`);
        const lost = rejectsWith(store.append('s', evs(1)), 'unavailable');
        await new Promise((r) => setTimeout(r, 200)); // the statement waits for the lock at the server
        relay.cut();
        const err = await lost;
        assert.equal(err.data['outcome'], 'unknown', err.message);
        await holder.query('ROLLBACK');
        // New connections are accepted and closed at once (a proxy before a server that is down): never sent.
        relay.hangUpOnAccept();
        const hungUp = await rejectsWith(store.append('s', evs(1)), 'unavailable');
        assert.equal(hungUp.data['outcome'], undefined, hungUp.message);
        await relay.close(); // nothing listens any more: a new connection is refused, the append never sent
        const refused = await rejectsWith(store.append('s', evs(1)), 'unavailable');
        assert.equal(refused.data['outcome'], undefined, refused.message);
      } finally {
        await holder.query('ROLLBACK').catch(() => {});
        holder.release();
        await store.close();
        await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(store.schema)} CASCADE`);
      }
    });

    it('an append waits for the store lock only until its deadline, and writes nothing after it', async () => {
      const applicationName = `gater-deadline-${randomUUID().slice(0, 8)}`;
      const store = new PostgresEventStore({}, { storeId: `s${stores++}`, url, poolSize: 1, applicationName });
      await store.open();
      const holder = await admin.connect();
      const waitingAppends = async () =>
        (await admin.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
          [applicationName],
        )).rows[0].n as number;
      try {
        await store.append('s', evs(1));
        // Another node (a deletion, say) holds the store's lock.
        await holder.query('BEGIN');
        await holder.query(`SELECT next_position FROM ${quoteIdent(store.schema)}.store_head FOR UPDATE`);
        const started = Date.now();
        const late = await rejectsWith(store.append('s', evs(1, 'Late'), { deadlineAt: Date.now() + 300 }), 'timeout');
        assert.match(late.message, /lock was not free before the deadline/);
        assert.ok(Date.now() - started < 3000, `answered after ${Date.now() - started} ms`);
        assert.equal(await waitingAppends(), 0, 'nothing is left waiting at the server');
        // The lock timeout was the statement's own: an append without a deadline on the same connection waits.
        const patient = store.append('s', evs(1, 'Patient'));
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(await waitingAppends(), 1);
        await holder.query('COMMIT');
        assert.equal((await patient).version, 1);
        assert.deepEqual((await store.readStream('s', { count: 10 })).map((e) => e.eventType), ['Happened', 'Patient']);
      } finally {
        await holder.query('ROLLBACK').catch(() => {});
        holder.release();
        await dropStore(store);
      }
    });

    it('a deletion whose commit was written but whose answer was lost has an unknown outcome, not a plain failure', async () => {
      // A COMMIT waiting for a synchronous standby that never comes has already committed locally; ending its session
      // then loses the answer of a write that happened. Repeating such a deletion would answer not_found.
      const applicationName = `gater-outcome-${randomUUID().slice(0, 8)}`;
      const store = new PostgresEventStore({}, { storeId: `s${stores++}`, url, poolSize: 2, applicationName });
      await store.open();
      const endWaitingCommit = async (): Promise<void> => {
        for (let i = 0; i < 100; i++) {
          await new Promise((r) => setTimeout(r, 50));
          const { rows } = await admin.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'SyncRep'",
            [applicationName],
          );
          if (rows.length > 0) {
            await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
            return;
          }
        }
        assert.fail('no commit waited for the standby');
      };
      const setStandby = async (names: string | undefined): Promise<void> => {
        await admin.query(names === undefined ? 'ALTER SYSTEM RESET synchronous_standby_names' : `ALTER SYSTEM SET synchronous_standby_names = '${names}'`);
        await admin.query('SELECT pg_reload_conf()');
        await new Promise((r) => setTimeout(r, 300)); // every backend has read the configuration again
      };
      try {
        await store.append('victim', evs(2));
        await store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'sub' });
        await store.recordSnapshot({ sourceUuid: 'src', streamUuid: 'victim', version: 1, data: {} });
        await setStandby('missing_standby');
        const writes: [string, () => Promise<unknown>][] = [
          ['deleteStream', () => store.deleteStream('victim')],
          ['removeSubscription', () => store.removeSubscription('by_stream', '$all', 'sub')],
          ['deleteSnapshot', () => store.deleteSnapshot('src', 'victim', 1)],
        ];
        for (const [name, write] of writes) {
          const failing = rejectsWith(write(), 'unavailable');
          await endWaitingCommit();
          const err = await failing;
          assert.equal(err.data['outcome'], 'unknown', `${name}: ${err.message}`);
        }
      } finally {
        await setStandby(undefined);
      }
      try {
        // Each of them happened.
        assert.equal(await store.streamVersion('victim'), -1);
        assert.equal(await store.getSubscription('sub'), undefined);
        assert.deepEqual(await store.listSnapshots({ streamUuid: 'victim' }), []);
      } finally {
        await dropStore(store);
      }
    });

    it('parking for a subscription another node removes at that moment is not_found', async () => {
      const store = await openStore();
      const remover = await admin.connect();
      try {
        await store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'p' });
        // The removal holds the row until it commits: the park sees the subscription, then its foreign key does not.
        await remover.query('BEGIN');
        await remover.query(`DELETE FROM ${quoteIdent(store.schema)}.subscriptions WHERE name = 'p'`);
        const parking = rejectsWith(
          store.parkEvent({ subscription: 'p', position: 0, eventId: randomUUID(), streamId: 's', deliveries: 5, reason: 'r' }),
          'not_found',
        );
        await new Promise((r) => setTimeout(r, 200));
        await remover.query('COMMIT');
        await parking;
      } finally {
        remover.release();
        await dropStore(store);
      }
    });

    it('a value the server refuses is invalid_argument (not retried), a lost answer unavailable', async () => {
      const store = await openStore();
      try {
        // Valid for the validators, too long in bytes for the btree of snapshot keys: the server's 54000.
        // 512 varied CJK characters, 1,536 bytes in UTF-8 (varied, so that the index cannot compress them).
        const longKey = Array.from({ length: 512 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20_000))).join('');
        await rejectsWith(
          store.recordSnapshot({ sourceUuid: longKey, streamUuid: longKey, version: 1, data: {} }),
          'invalid_argument',
        );
      } finally {
        await dropStore(store);
      }
      assert.equal(storageError(Object.assign(new Error('invalid byte sequence'), { code: '22021' })).code, 'invalid_argument');
      assert.equal(storageError(new Error('Query read timeout')).code, 'unavailable');
      assert.equal(storageError(Object.assign(new Error('terminating'), { code: '57P01' })).code, 'unavailable');
    });
  });

  describe('array literals of the append batch', () => {
    const tricky = [
      'plain', '', 'NULL', 'null', 'with "quotes"', 'back\\slash', 'ends with \\', '{braces}', 'a,b', ' padded ',
      'ünïcödé ✓', 'emoji 🎉', '\u2028line separator', 'del \u007f', null,
    ];

    it('reads back exactly what was written, NULLs included, through a real server', async () => {
      const literal = textArrayLiteral(tricky);
      assert.equal(typeof literal, 'string', 'these strings take the shortcut');
      const { rows } = await admin.query<{ a: (string | null)[] }>('SELECT $1::text[] AS a', [literal]);
      assert.deepEqual(rows[0]!.a, tricky);
      const ints = await admin.query<{ a: number[] }>('SELECT $1::bigint[] AS a', [scalarArrayLiteral([0, -4, 2 ** 53 - 1])]);
      assert.deepEqual(ints.rows[0]!.a.map(Number), [0, -4, 2 ** 53 - 1]);
      assert.deepEqual((await admin.query('SELECT $1::text[] AS a', [textArrayLiteral([])])).rows[0]!.a, []);
    });

    it('carries JSON texts and NULLs as one joined string, each back exactly, a lone NULL or "" included', async () => {
      const separators = JSON.stringify({ rs: '\u001e', us: '\u001f', nul: '\u0000', lone: '\ud800', pair: '🎉' });
      assert.ok(!separators.includes('\u001e') && !separators.includes('\u001f'), 'JSON.stringify escapes both');
      const cases: (string | null)[][] = [
        [JSON.stringify({ q: 'say "hi"', b: '\\', n: 'line\nbreak', c: '\u0001', s: '\ud800' }), null, '[]'],
        [separators],
        [null],
        [JSON.stringify('')],
        [null, null],
        ['{}', null, JSON.stringify(['a,b', '{x}', 'NULL'])],
      ];
      for (const texts of cases) {
        const { rows } = await admin.query<{ a: (string | null)[] }>(`SELECT ${jsonTextsSql(1)} AS a`, [jsonTextList(texts)]);
        assert.deepEqual(rows[0]!.a, texts, JSON.stringify(texts));
      }
      const ids = [randomUUID(), randomUUID()];
      const { rows } = await admin.query<{ a: string[] }>(`SELECT ${uuidsSql(1)}::text[] AS a`, [uuidList(ids)]);
      assert.deepEqual(rows[0]!.a, ids);
    });

    it('leaves strings with control characters or lone surrogates to the driver, which reads them back too', async () => {
      for (const odd of ['tab\there', 'new\nline', 'bell \u0007', 'lone \ud800 surrogate']) {
        const values = ['ok', odd];
        const literal = textArrayLiteral(values);
        assert.equal(literal, values, `${JSON.stringify(odd)} goes to the driver`);
        const { rows } = await admin.query<{ a: string[] }>('SELECT $1::text[] AS a', [literal]);
        assert.deepEqual(rows[0]!.a, odd.includes('\ud800') ? ['ok', 'lone \ufffd surrogate'] : values);
      }
    });
  });

  describe('stream deletion', () => {
    const leftovers = async (schema: string) =>
      (await admin.query(
        `SELECT (SELECT count(*) FROM ${quoteIdent(schema)}.events e WHERE NOT EXISTS ` +
          `(SELECT 1 FROM ${quoteIdent(schema)}.streams s WHERE s.sid = e.sid))::int AS events, ` +
          `(SELECT count(*) FROM ${quoteIdent(schema)}.event_extra_tags)::int AS tags, ` +
          `(SELECT count(*) FROM ${quoteIdent(schema)}.deleted_streams)::int AS pending`,
      )).rows[0];

    it('lets appends on other nodes go on while a large stream is deleted, and leaves nothing of it', async () => {
      const a = await openStore();
      const b = new PostgresEventStore({}, { storeId: a.storeId, url, poolSize: 2 });
      await b.open();
      try {
        const tagged = (n: number) => evs(1000, 'Big', n).map((e) => ({ ...e, tags: ['one', 'two'] }));
        for (let k = 0; k < 40; k++) await a.append('big', tagged(k * 1000));
        const done: string[] = [];
        const deleting = a.deleteStream('big').then(() => done.push('delete'));
        // Once the stream is gone (its row removed under the store lock), its 40,000 events are removed in chunks
        // without the lock: an append through the other node does not wait for them.
        await eventuallyTrue(async () => (await b.streamVersion('big')) === -1);
        await b.append('other', evs(1)).then(() => done.push('append'));
        await deleting;
        assert.deepEqual(done, ['append', 'delete']);
        assert.deepEqual(await leftovers(a.schema), { events: 0, tags: 0, pending: 0 });
        assert.equal((await b.append('big', evs(1))).version, 0, 'a new stream of that name starts again');
      } finally {
        await b.close();
        await dropStore(a);
      }
    });

    it('a deletion whose node stopped before removing the events is finished by the next store opened', async () => {
      const store = await openStore();
      const storeId = store.storeId;
      const s = quoteIdent(store.schema);
      await store.append('gone', evs(3).map((e) => ({ ...e, tags: ['x', 'y'] })));
      await store.append('kept', evs(2));
      await store.close();
      // What a node does under the store lock before it dies: the stream's row goes and the deletion is recorded.
      await admin.query(
        `WITH d AS (DELETE FROM ${s}.streams WHERE stream_id = 'gone' RETURNING sid) ` +
          `INSERT INTO ${s}.deleted_streams (sid) SELECT sid FROM d`,
      );
      const reopened = await openStore(storeId);
      try {
        assert.equal(await reopened.streamVersion('gone'), -1);
        await eventuallyTrue(async () => (await leftovers(reopened.schema)).pending === 0);
        assert.deepEqual(await leftovers(reopened.schema), { events: 0, tags: 0, pending: 0 });
        assert.equal((await reopened.readStream('kept', { count: 10 })).length, 2);
      } finally {
        await dropStore(reopened);
      }
    });
  });

  describe('PostgreSQL schema', () => {
    it('keeps each store in a schema of its own: two stores in one database never see each other', async () => {
      const a = await openStore('orders');
      const b = await openStore('Orders');
      try {
        assert.notEqual(a.schema, b.schema);
        await a.append('s', evs(2));
        await b.append('s', evs(1));
        assert.equal(await a.streamVersion('s'), 1);
        assert.equal(await b.streamVersion('s'), 0);
        assert.deepEqual((await b.stats()).lastPosition, 0);
      } finally {
        await dropStore(a);
        await dropStore(b);
      }
    });

    it('names long store ids within the 63-byte identifier limit, distinctly', () => {
      const long = 'x'.repeat(128);
      const other = `${'x'.repeat(127)}y`;
      assert.ok(Buffer.byteLength(schemaNameFor(long)) <= 63);
      assert.notEqual(schemaNameFor(long), schemaNameFor(other));
      assert.equal(schemaNameFor('default'), 'gater_default');
    });

    it('migrates once when several nodes open a new store at the same moment', async () => {
      const storeId = `race-${stores++}`;
      const nodes = Array.from({ length: 5 }, () => new PostgresEventStore({}, { storeId, url, poolSize: 2 }));
      try {
        await Promise.all(nodes.map((n) => n.open()));
        const { rows } = await admin.query(`SELECT version FROM "${schemaNameFor(storeId)}".schema_migrations ORDER BY 1`);
        assert.deepEqual(rows.map((r: { version: number }) => r.version), MIGRATIONS.map((m) => m.version));
        await Promise.all(nodes.map((n, i) => n.append(`n-${i}`, evs(1))));
        assert.equal((await nodes[0]!.stats()).lastPosition, 4);
      } finally {
        await Promise.all(nodes.slice(1).map((n) => n.close()));
        await dropStore(nodes[0]!);
      }
    });

    it('keeps version 2\'s append function after version 3, so nodes not yet upgraded go on appending', async () => {
      const store = await openStore();
      try {
        const s = quoteIdent(store.schema);
        await store.append('mixed', [ev('New', { tags: ['a'] })]);
        // A node running version 2's code: its 15-parameter append_batch, under the same lock, numbering on.
        const { rows } = await admin.query<{ r_status: number[]; r_version: string[]; r_position: string[] }>(
          `SELECT * FROM ${s}.append_batch($1::text[], $2::bigint[], $3::integer[], $4::integer[], $5::integer[], ` +
            '$6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], ' +
            '$14::text[], $15::integer[])',
          [['mixed'], [0], [1], [1], [0], [randomUUID()], ['Old'], ['{}'], [null], ['["a","b"]'], ['a'], [null], [null], ['b'], [1]],
        );
        assert.deepEqual([rows[0]!.r_status, rows[0]!.r_version.map(Number), rows[0]!.r_position.map(Number)], [[0], [1], [1]]);
        await store.append('mixed', [ev('New')], { expectedVersion: 1 });
        const events = await store.readStream('mixed', { count: 10 });
        assert.deepEqual(events.map((e) => [e.eventType, e.version, e.position]), [['New', 0, 0], ['Old', 1, 1], ['New', 2, 2]]);
        assert.deepEqual((await store.readFiltered({ tags: ['b'] }, 0, 10)).events.map((e) => e.position), [1]);
      } finally {
        await dropStore(store);
      }
    });

    it('upgrades a store of schema version 1: tags written before and after the upgrade are all found', async () => {
      const storeId = `upgrade-${stores++}`;
      const s = quoteIdent(schemaNameFor(storeId));
      const client = await admin.connect();
      try {
        await migrate(client, schemaNameFor(storeId), storeId, 1);
        // Version 1's append function: every tag a row of event_tags. Appends of 2 events (tags red+blue, blue) and
        // of 1 (red).
        await client.query(
          `SELECT * FROM ${s}.append_batch($1::text[], $2::bigint[], $3::integer[], $4::integer[], $5::integer[], ` +
            '$6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::integer[])',
          [
            ['old-a', 'old-b'], [-2, -2], [2, 1], [3, 1], [0, 0],
            [randomUUID(), randomUUID(), randomUUID()], ['T', 'T', 'T'], ['{}', '{}', '{}'], [null, null, null],
            ['["red","blue"]', '["blue"]', '["red"]'], [null, null, null], [null, null, null],
            ['red', 'blue', 'blue', 'red'], [1, 1, 2, 3],
          ],
        );
      } finally {
        client.release();
      }
      const store = await openStore(storeId);
      try {
        const { rows } = await admin.query(`SELECT version FROM ${s}.schema_migrations ORDER BY 1`);
        assert.deepEqual(rows.map((r: { version: number }) => r.version), MIGRATIONS.map((m) => m.version));
        await store.append('new-a', [
          ev('T', { tags: ['blue', 'red'] }),
          ev('T', { tags: ['red'] }),
          ev('U'),
          ev('U', { tags: ['green', 'red', 'blue'] }),
        ]);
        const positions = async (filter: EventFilter, limit = 100): Promise<number[]> => {
          const all: number[] = [];
          for (let from = 0; ; ) {
            const page = await store.readFiltered(filter, from, limit);
            all.push(...page.events.map((e) => e.position));
            if (page.scannedTo < from) return all;
            from = page.scannedTo + 1;
          }
        };
        for (const limit of [100, 1]) {
          assert.deepEqual(await positions({ tags: ['red'] }, limit), [0, 2, 3, 4, 6]);
          assert.deepEqual(await positions({ tags: ['blue'] }, limit), [0, 1, 3, 6]);
          assert.deepEqual(await positions({ tags: ['red', 'blue'], tagMatch: 'all' }, limit), [0, 3, 6]);
          assert.deepEqual(await positions({ tags: ['blue', 'green'] }, limit), [0, 1, 3, 6]);
          assert.deepEqual(await positions({ tags: ['green', 'blue'], tagMatch: 'all' }, limit), [6]);
          assert.deepEqual(await positions({ tags: ['red'], types: ['U'] }, limit), [6]);
          assert.deepEqual(await positions({ types: ['T'], tags: ['blue', 'red'], tagMatch: 'all' }, limit), [0, 3]);
          assert.deepEqual(await positions({ streamPattern: 'new-*', tags: ['red'] }, limit), [3, 4, 6]);
          assert.deepEqual(await positions({ streamPattern: 'old-*', tags: ['green', 'blue'] }, limit), [0, 1]);
        }
        // Deleting a stream removes its tags from wherever they are.
        await store.deleteStream('old-a');
        await store.deleteStream('new-a');
        assert.deepEqual(await positions({ tags: ['red', 'blue', 'green'] }), [2]);
        assert.deepEqual((await admin.query(`SELECT tag, position::integer FROM ${s}.event_extra_tags`)).rows, [{ tag: 'red', position: 2 }]);
      } finally {
        await dropStore(store);
      }
    });

    it('keeps an event\'s first tag in its row and only the others in event_extra_tags', async () => {
      const store = await openStore();
      try {
        await store.append('s', [ev('T', { tags: ['a', 'b', 'c'] }), ev('T', { tags: ['d'] }), ev('T')]);
        const s = quoteIdent(store.schema);
        const events = await admin.query(`SELECT position::integer, first_tag FROM ${s}.events ORDER BY position`);
        assert.deepEqual(events.rows, [{ position: 0, first_tag: 'a' }, { position: 1, first_tag: 'd' }, { position: 2, first_tag: null }]);
        const extra = await admin.query(`SELECT tag, position::integer FROM ${s}.event_extra_tags ORDER BY position, tag`);
        assert.deepEqual(extra.rows, [{ tag: 'b', position: 0 }, { tag: 'c', position: 0 }]);
      } finally {
        await dropStore(store);
      }
    });

    it('reopens an existing store where it was, and refuses a schema that belongs to another store id', async () => {
      const first = await openStore('kept');
      await first.append('s', evs(3));
      await first.close();
      const again = await openStore('kept');
      assert.deepEqual(await again.append('s', evs(1)), { version: 3, position: 3 });
      const squatter = new PostgresEventStore({}, { storeId: 'other', url, schema: again.schema });
      await rejectsWith(squatter.open(), 'unavailable');
      await squatter.close();
      await dropStore(again);
    });


    it('with several batches in flight, positions stay gap-free and listeners still hear events in order', async () => {
      const store = new PostgresEventStore({}, { storeId: `s${stores++}`, url, poolSize: 6, maxConcurrentBatches: 4 });
      await store.open();
      try {
        const heard: number[] = [];
        store.onAppend((events) => heard.push(...events.map((e) => e.position)));
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => store.append(`s-${i % 7}`, evs(1 + (i % 3)))),
        );
        const positions = results.flatMap((r, i) => Array.from({ length: 1 + (i % 3) }, (_, k) => r.position - k));
        assert.deepEqual(positions.sort((x, y) => x - y), Array.from({ length: positions.length }, (_, i) => i));
        assert.deepEqual(heard, [...heard].sort((x, y) => x - y), 'in position order');
        assert.ok(store.commitCounters.batches < 200, 'appends shared batches');
      } finally {
        await dropStore(store);
      }
    });

    it('spreads heavy appends made together over batches bounded in characters, and writes them all', async () => {
      const store = await openStore();
      try {
        const text = 'y'.repeat(3 * 1024 * 1024);
        const results = await Promise.all(
          Array.from({ length: 5 }, (_, i) => store.append(`heavy-${i}`, [ev('Heavy', { data: { i, text } })])),
        );
        assert.deepEqual(results.map((r) => r.version), [0, 0, 0, 0, 0]);
        // 8 MiB of text per batch at most: two of these appends each, so at least three batches.
        assert.ok(store.commitCounters.batches >= 3, `${store.commitCounters.batches} batches`);
        const [read] = await store.readStream('heavy-4', { count: 1 });
        assert.equal((read!.data as { text: string }).text.length, text.length);
      } finally {
        await dropStore(store);
      }
    });

    it('does not write an append whose deadline passed while it waited behind a batch held up by the lock', async () => {
      const store = new PostgresEventStore({}, { storeId: `s${stores++}`, url, poolSize: 4, maxConcurrentBatches: 1 });
      await store.open();
      const holder = await admin.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT next_position FROM ${quoteIdent(store.schema)}.store_head FOR UPDATE`);
        const first = store.append('first', evs(1)); // taken at once: its batch waits for the lock
        await new Promise((r) => setTimeout(r, 50));
        const late = rejectsWith(store.append('late', evs(1), { deadlineAt: Date.now() + 200 }), 'timeout');
        const cancelled = new AbortController();
        const gone = rejectsWith(store.append('gone', evs(1), { signal: cancelled.signal }), 'unavailable');
        const patient = store.append('patient', evs(1), { deadlineAt: Date.now() + 60_000 });
        cancelled.abort();
        await new Promise((r) => setTimeout(r, 400));
        await holder.query('COMMIT');
        assert.deepEqual(await first, { version: 0, position: 0 });
        await late;
        await gone;
        assert.deepEqual(await patient, { version: 0, position: 1 });
        assert.equal(await store.streamVersion('late'), -1);
        assert.equal(await store.streamVersion('gone'), -1);
      } finally {
        holder.release();
        await dropStore(store);
      }
    });

    it('writes a stream\'s appends in the order they were made, though batches in flight commit in either order', async () => {
      const store = new PostgresEventStore({}, { storeId: `s${stores++}`, url, poolSize: 6, maxConcurrentBatches: 4 });
      await store.open();
      try {
        // Appends made without waiting, each expecting the version the one before it in its stream leaves; one
        // written out of order would fail its check. Waves of them, so that batches overlap and pass streams over.
        // The first half of each wave is to streams 0-19, the second to 20-39 with every fifth append to one of the
        // first half's: two batches go out together, and the second must pass those over.
        const STREAMS = 40;
        const next = new Array<number>(STREAMS).fill(-1);
        for (let wave = 0; wave < 10; wave++) {
          const calls = Array.from({ length: 240 }, (_, i) => {
            const stream = i < 120 || i % 5 === 0 ? (i + wave) % 20 : 20 + ((i + wave) % 20);
            const count = 1 + (i % 4);
            const expectedVersion = next[stream]!;
            next[stream] = expectedVersion + count;
            return store.append(`ordered-${stream}`, evs(count), { expectedVersion });
          });
          const results = await Promise.all(calls);
          assert.equal(results.length, 240);
        }
        for (let stream = 0; stream < STREAMS; stream++) {
          assert.equal(await store.streamVersion(`ordered-${stream}`), next[stream]);
        }
        assert.ok(store.commitCounters.batches > 10, 'the appends were written in several batches');
      } finally {
        await dropStore(store);
      }
    });

    it('fails calls with unavailable, not a crash, when the database cannot be reached', async () => {
      const store = new PostgresEventStore({}, { storeId: 'nowhere', url: server.url('no_such_database') });
      await rejectsWith(store.open(), 'unavailable');
      await rejectsWith(store.append('s', evs(1)), 'unavailable');
      await store.close();
    });
  });
}
