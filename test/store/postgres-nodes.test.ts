/**
 * Two nodes on one PostgreSQL store (two PostgresEventStore instances, each with its own pool, listener and hub):
 * concurrent appends never let a reader skip or repeat an event, expected versions hold across nodes, live readers on
 * one node hear the other's commits, and a persistent subscription is delivered by one node at a time, moving to the
 * other when the first loses its connection.
 */
import assert from 'node:assert/strict';
import { after, describe, it, test } from 'node:test';
import pg from 'pg';
import { GaterError, WrongExpectedVersionError } from '../../src/errors/index.ts';
import { PostgresEventStore } from '../../src/store/postgres/index.ts';
import { SubscriptionHub, type SubscriptionHubInit } from '../../src/store/subscriptions/index.ts';
import type { RecordedEvent } from '../../src/store/types.ts';
import { startTestPostgres } from '../support/postgres.ts';
import { TcpRelay } from '../support/tcp-relay.ts';
import { readAll, rejectsWith } from './contract/support.ts';
import { Reader, eventually, positionsOf } from './subscriptions/support/reader.ts';

const server = await startTestPostgres();
if ('skip' in server) {
  test('PostgreSQL nodes', { skip: server.skip }, () => {});
} else {
  const url = await server.createDatabase();
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const open: { store: PostgresEventStore; hub: SubscriptionHub }[] = [];
  after(async () => {
    for (const n of open) {
      await n.hub.close();
      await n.store.close();
    }
    await admin.end();
    await server.stop();
  });
  let stores = 0;
  /**
   * Two nodes of a fresh store; hubs poll no head, so live delivery across nodes rests on notifications alone. Node a
   * reaches the server at `urlOfA` when given (through a relay); `hubInit` adds to the hubs' settings.
   */
  const twoNodes = async (urlOfA = url, hubInit: SubscriptionHubInit = {}) => {
    const storeId = `nodes-${stores++}`;
    const nodes = [];
    for (const name of ['a', 'b']) {
      const store = new PostgresEventStore(
        {},
        { storeId, url: name === 'a' ? urlOfA : url, poolSize: 6, applicationName: `gater-test:${storeId}:${name}` },
      );
      await store.open();
      const hub = new SubscriptionHub({ store }, { headPollIntervalMs: 0, recordCheckIntervalMs: 300, ...hubInit });
      open.push({ store, hub });
      nodes.push({ store, hub, app: `gater-test:${storeId}:${name}` });
    }
    return nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  };

  /** Advisory locks held by the sessions of node `app` (leases, nothing else takes them). */
  const advisoryLocks = async (app: string) =>
    Number((await admin.query(
      "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity p ON p.pid = l.pid WHERE l.locktype = 'advisory' AND p.application_name = $1",
      [app],
    )).rows[0].count);

  describe('two nodes on one PostgreSQL store', () => {
    it('16 appenders on two nodes: a $all reader on each node sees every event exactly once, in gap-free order', async () => {
      const [a, b] = await twoNodes();
      const readers = [new Reader(await a.hub.observe({ type: 'by_stream', selector: '$all', startFrom: 0 })),
        new Reader(await b.hub.observe({ type: 'by_stream', selector: '$all', startFrom: 0 }))];
      const acknowledged: { position: number; count: number }[] = [];
      await Promise.all(
        Array.from({ length: 16 }, async (_, w) => {
          const node = w % 2 === 0 ? a : b;
          for (let i = 0; i < 40; i++) {
            const count = 1 + ((i + w) % 3);
            const result = await node.store.append(`w-${w % 5}`, Array.from({ length: count }, (_, k) => ({
              eventType: 'Appended', data: { w, i, k },
            })));
            acknowledged.push({ position: result.position, count });
          }
        }),
      );
      const total = acknowledged.reduce((n, x) => n + x.count, 0);
      for (const reader of readers) {
        const got = await reader.take(total, 60_000);
        assert.deepEqual(positionsOf(got), Array.from({ length: total }, (_, i) => i), 'every position once, in order');
        assert.ok(await reader.quietFor(50), 'nothing more');
      }
      const stored = await readAll(a.store);
      assert.equal(stored.length, total);
      const written = new Set(stored.map((e) => JSON.stringify(e.data)));
      assert.equal(written.size, total, 'no event written twice');
      for (const { position, count } of acknowledged) {
        for (let p = position - count + 1; p <= position; p++) assert.ok(stored[p], `acknowledged position ${p} is stored`);
      }
    });

    it('expected versions hold across nodes: appenders on both racing on one stream win each version once', async () => {
      const [a, b] = await twoNodes();
      const won: number[] = [];
      await Promise.all(
        Array.from({ length: 20 }, async (_, w) => {
          const store = (w % 2 === 0 ? a : b).store;
          for (let wins = 0, attempts = 0; wins < 5; ) {
            assert.ok(++attempts < 1_000, 'an appender starved');
            const version = await store.streamVersion('race');
            try {
              won.push((await store.append('race', [{ eventType: 'Won', data: { w } }], { expectedVersion: version })).version);
              wins++;
            } catch (err) {
              if (!(err instanceof WrongExpectedVersionError)) throw err;
              assert.ok(err.currentVersion > version);
            }
          }
        }),
      );
      assert.deepEqual(won.sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
      const events = await a.store.readStream('race', { count: 200 });
      assert.deepEqual(events.map((e) => e.version), Array.from({ length: 100 }, (_, i) => i));
    });

    it('a live reader on one node hears the other node commit, by notification', async () => {
      const [a, b] = await twoNodes();
      const reader = new Reader(await b.hub.observe({ type: 'by_event_type', selector: 'Ping' }));
      await a.store.append('s', [{ eventType: 'Noise' }, { eventType: 'Ping', data: { n: 1 } }]);
      const [d] = await reader.take(1, 5_000);
      assert.deepEqual(d?.event.data, { n: 1 });
      assert.equal(d?.event.position, 1);
    });

    it('live readers on one node share one read of each commit the other node makes', async () => {
      const [a, b] = await twoNodes();
      let reads = 0;
      const readFiltered = b.store.readFiltered.bind(b.store);
      b.store.readFiltered = (...args) => (reads++, readFiltered(...args));
      const readers = await Promise.all(
        Array.from({ length: 20 }, async (_, i) =>
          new Reader(await b.hub.observe(i % 2 === 0 ? { type: 'by_stream', selector: '$all' } : { type: 'by_event_type', selector: 'Odd' }))),
      );
      const allWaiting = () => Promise.all(readers.map((reader) => reader.quietFor(20)));
      await allWaiting();
      await a.store.append('s', [{ eventType: 'Even' }]); // the first: each reader reads for itself
      for (const [i, reader] of readers.entries()) if (i % 2 === 0) await reader.take(1, 5_000);
      await allWaiting();
      const readsBefore = reads;
      for (let c = 0; c < 10; c++) {
        await a.store.append('s', [{ eventType: 'Even' }, { eventType: 'Odd' }]);
        for (const [i, reader] of readers.entries()) {
          const positions = positionsOf(await reader.take(i % 2 === 0 ? 2 : 1, 5_000));
          assert.deepEqual(positions, i % 2 === 0 ? [1 + 2 * c, 2 + 2 * c] : [2 + 2 * c]);
        }
        await allWaiting();
      }
      // Before: every caught-up reader read the store for every commit of node a, 200 reads.
      assert.ok(reads - readsBefore <= 20, `${reads - readsBefore} reads for 10 commits of the other node`);
    });

    it('one node at a time delivers a persistent subscription; when it loses its connection the other resumes from the checkpoint', async () => {
      const [a, b] = await twoNodes();
      await a.store.append('s', Array.from({ length: 10 }, (_, n) => ({ eventType: 'E', data: { n } })));
      await a.store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'sub' });
      const sessionA = await a.hub.connect('sub');
      const readerA = new Reader(sessionA);
      const first = await readerA.take(10);
      assert.equal(await a.hub.ack('sub', positionsOf(first).slice(0, 5)), 4);

      const refused = await rejectsWith(b.hub.connect('sub'), 'unavailable');
      assert.equal(refused.data['delivered'], false, 'the gateway may try another worker');
      await rejectsWith(b.hub.ack('sub', [5]), 'unavailable');
      await rejectsWith(b.hub.replayParked('sub'), 'unavailable');

      // Node a "dies": the server ends its sessions, which releases its advisory locks.
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [a.app]);
      assert.equal(await sessionA.ended, 'lease_lost');
      await a.store.append('s', [{ eventType: 'E', data: { n: 10 } }]).catch(() => {}); // a's pool reconnects or fails: either is fine
      await b.store.append('s', [{ eventType: 'E', data: { n: 11 } }]);

      const sessionB = await eventually(() => b.hub.connect('sub'), 15_000);
      const readerB = new Reader(sessionB);
      const total = (await b.store.stats()).lastPosition + 1;
      const again = await readerB.take(total - 5);
      assert.deepEqual(positionsOf(again), Array.from({ length: total - 5 }, (_, i) => 5 + i), 'from the checkpoint, no gap');
      assert.equal(await b.hub.ack('sub', positionsOf(again)), total - 1);
      await rejectsWith(a.hub.connect('sub'), 'unavailable');
      sessionB.close();
    });

    it('a node cut off from the server without being told drops its lease itself, before the server frees it', async () => {
      const relay = await TcpRelay.start(server.port);
      try {
        const [a, b] = await twoNodes(url.replace(`:${server.port}/`, `:${relay.port}/`));
        await b.store.append('s', Array.from({ length: 10 }, (_, n) => ({ eventType: 'E', data: { n } })));
        await b.store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'sub' });
        const sessionA = await a.hub.connect('sub');
        const first = await new Reader(sessionA).take(10);
        assert.equal(await a.hub.ack('sub', positionsOf(first).slice(0, 5)), 4);

        // Every packet between a and the server is dropped from now on; no connection closes. The server still holds
        // a's session and its lock (here until the relay is cut; in a real network until its keepalive probes fail).
        relay.silence();
        const ended = await Promise.race([
          sessionA.ended,
          new Promise((resolve) => setTimeout(resolve, 30_000, 'still delivering after 30 s').unref()),
        ]);
        assert.equal(ended, 'lease_lost', 'a stops delivering by itself: its heartbeat went unanswered');
        await rejectsWith(b.hub.connect('sub'), 'unavailable');

        relay.cut(); // the server ends a's sessions, and the lease is free
        const sessionB = await eventually(() => b.hub.connect('sub'), 15_000);
        const again = await new Reader(sessionB).take(5);
        assert.deepEqual(positionsOf(again), [5, 6, 7, 8, 9], 'from the checkpoint a saved, no gap');
        sessionB.close();
      } finally {
        await relay.close();
      }
    });

    it('a subscription removed and saved again through the other node ends its session here, and old acks touch nothing', async () => {
      const [a, b] = await twoNodes();
      await a.store.append('s', Array.from({ length: 6 }, (_, n) => ({ eventType: n % 2 === 0 ? 'Old' : 'New', data: { n } })));
      await a.store.saveSubscription({ type: 'by_event_type', selector: 'Old', name: 'sub' });
      const sessionA = await a.hub.connect('sub');
      const delivered = await new Reader(sessionA).take(3);
      assert.deepEqual(positionsOf(delivered), [0, 2, 4]);
      assert.equal(await a.hub.ack('sub', [0]), 0);

      // Node b removes it (no session of it there) and saves another subscription under the name.
      await b.hub.removeSubscription('by_event_type', 'Old', 'sub');
      const again = await b.store.saveSubscription({ type: 'by_event_type', selector: 'New', name: 'sub' });
      // a's consumer acknowledges what the old one delivered: it must not move the new one's checkpoint.
      await rejectsWith(a.hub.ack('sub', [2, 4]), 'not_found');
      assert.equal((await b.store.getSubscription('sub'))?.checkpoint, -1);
      // Before: the old session went on delivering the removed subscription, and kept the lease.
      assert.equal(await sessionA.ended, 'removed');
      const sessionB = await eventually(() => b.hub.connect('sub'), 15_000);
      assert.deepEqual(positionsOf(await new Reader(sessionB).take(3)), [1, 3, 5], 'the new one from its start');
      assert.equal((await b.store.getSubscription('sub'))?.createdAt, again.createdAt);
      sessionB.close();
    });

    it('a session whose consumer never acknowledges ends too, once the record is read back', async () => {
      const [a, b] = await twoNodes();
      await a.store.append('s', [{ eventType: 'E', data: {} }]);
      await a.store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'quiet' });
      const sessionA = await a.hub.connect('quiet');
      await new Reader(sessionA).take(1);
      await b.hub.removeSubscription('by_stream', '$all', 'quiet');
      const ended = await Promise.race([
        sessionA.ended,
        new Promise((resolve) => setTimeout(resolve, 10_000, 'still open after 10 s').unref()),
      ]);
      assert.equal(ended, 'removed');
    });

    it('acknowledgements, redelivery after the ack timeout, and parking work against PostgreSQL', async () => {
      const [a] = await twoNodes();
      await a.store.append('s', Array.from({ length: 3 }, (_, n) => ({ eventType: 'E', data: { n } })));
      await a.store.saveSubscription({
        type: 'by_event_type', selector: 'E', name: 'flaky', options: { ackTimeoutMs: 100, maxDeliveries: 2 },
      });
      const reader = new Reader(await a.hub.connect('flaky'));
      const once = await reader.take(3);
      await a.hub.ack('flaky', [0]);
      const twice = await reader.take(2, 5_000);
      assert.deepEqual(twice.map((d) => [d.event.position, d.attempt]), [[1, 2], [2, 2]]);
      const parked = await eventually(async () => {
        const p = await a.store.listParked('flaky');
        assert.equal(p.length, 2);
        return p;
      });
      assert.deepEqual(parked.map((p) => p.position), [1, 2]);
      assert.equal((await eventually(async () => {
        const r = await a.store.getSubscription('flaky');
        assert.equal(r?.checkpoint, 2);
        return r;
      }))?.checkpoint, 2);
      assert.equal(await a.hub.replayParked('flaky'), 2);
      const replayed = await reader.take(2);
      assert.deepEqual(positionsOf(replayed), [1, 2]);
      await a.hub.ack('flaky', [1, 2]);
      await eventually(async () => assert.deepEqual(await a.store.listParked('flaky'), []));
      assert.equal(once.length, 3);
    });

    describe('a subscription left without a session is given up after idleLeaseReleaseMs', () => {
      const GRACE_MS = 400;
      /** Time allowed past the grace period: the retirement's checkpoint save and unlock, the other node's connect. */
      const MARGIN_MS = 2_000;

      it('after its only session on node a closes, node b takes it over in time and gets every unacknowledged event', async () => {
        const [a, b] = await twoNodes(url, { idleLeaseReleaseMs: GRACE_MS });
        await a.store.append('s', Array.from({ length: 10 }, (_, n) => ({ eventType: 'E', data: { n } })));
        await a.store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'sub' });
        const sessionA = await a.hub.connect('sub');
        const first = await new Reader(sessionA).take(10);
        assert.equal(await a.hub.ack('sub', [0, 1, 2, 5, 6]), 2, 'acknowledged out of order past 2: not covered');
        await rejectsWith(b.hub.connect('sub'), 'unavailable');
        sessionA.close();
        const closedAt = Date.now();
        const sessionB = await eventually(() => b.hub.connect('sub'), GRACE_MS + MARGIN_MS);
        assert.ok(Date.now() - closedAt < GRACE_MS + MARGIN_MS, `taken over after ${Date.now() - closedAt} ms`);
        const readerB = new Reader(sessionB);
        const again = await readerB.take(7);
        assert.deepEqual(positionsOf(again), [3, 4, 5, 6, 7, 8, 9], 'from the durable checkpoint, in order, none skipped');
        assert.ok(again.every((d) => d.attempt === 1));
        assert.equal(await b.hub.ack('sub', positionsOf(again)), 9);
        await b.store.append('s', [{ eventType: 'E', data: { n: 10 } }]);
        assert.deepEqual(positionsOf(await readerB.take(1)), [10]);
        await rejectsWith(a.hub.connect('sub'), 'unavailable');
        assert.equal(first.length, 10);
        sessionB.close();
      });

      it('the advisory lock is no longer held on the server once the subscription is retired; connecting again takes it again', async () => {
        const [a, b] = await twoNodes(url, { idleLeaseReleaseMs: GRACE_MS });
        await a.store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'sub' });
        const session = await a.hub.connect('sub');
        assert.equal(await advisoryLocks(a.app), 1);
        session.close();
        await eventually(async () => assert.equal(await advisoryLocks(a.app), 0), GRACE_MS + MARGIN_MS);
        const back = await a.hub.connect('sub');
        assert.equal(await advisoryLocks(a.app), 1, 'the lease is taken again');
        await rejectsWith(b.hub.connect('sub'), 'unavailable');
        back.close();
      });

      it('a reconnect to node a within the grace period keeps delivering in order, and keeps the lease', async () => {
        const [a, b] = await twoNodes(url, { idleLeaseReleaseMs: 3_000 });
        await a.store.append('s', Array.from({ length: 6 }, (_, n) => ({ eventType: 'E', data: { n } })));
        await a.store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'sub' });
        const first = await a.hub.connect('sub');
        await new Reader(first).take(4);
        assert.equal(await a.hub.ack('sub', [0, 1]), 1);
        first.close();
        await new Promise((resolve) => setTimeout(resolve, 200));
        const second = await a.hub.connect('sub');
        const reader = new Reader(second);
        const got = await reader.take(4);
        assert.deepEqual(got.map((d) => [d.event.position, d.attempt]), [[2, 2], [3, 2], [4, 1], [5, 1]], 'the same state, in order');
        assert.equal(await a.hub.ack('sub', positionsOf(got)), 5);
        await new Promise((resolve) => setTimeout(resolve, 3_500)); // past the grace period, with a session open
        assert.equal(await advisoryLocks(a.app), 1);
        await rejectsWith(b.hub.connect('sub'), 'unavailable');
        await a.store.append('s', [{ eventType: 'E', data: { n: 6 } }]);
        assert.deepEqual(positionsOf(await reader.take(1)), [6]);
        second.close();
      });
    });
  });
}
