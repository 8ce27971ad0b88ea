/**
 * The PostgreSQL server restarts under load (an immediate stop, as a crash would, then a start): while it is down,
 * calls fail with `unavailable` (never another code, never hang past their deadline); once it is back, the store
 * recovers by itself: calls succeed, every acknowledged append is there, live readers resume, leases can be taken again.
 */
import assert from 'node:assert/strict';
import { after, describe, it, test } from 'node:test';
import { GaterError } from '../../src/errors/index.ts';
import { PostgresEventStore } from '../../src/store/postgres/index.ts';
import { SubscriptionHub } from '../../src/store/subscriptions/index.ts';
import { startTestPostgres } from '../support/postgres.ts';
import { readAll } from './contract/support.ts';
import { Reader, eventually } from './subscriptions/support/reader.ts';

const server = await startTestPostgres();
if ('skip' in server) {
  test('PostgreSQL server restart', { skip: server.skip }, () => {});
} else {
  const url = await server.createDatabase();
  const store = new PostgresEventStore({}, { storeId: 'restart', url, poolSize: 4, statementTimeoutMs: 3_000, connectTimeoutMs: 1_000 });
  await store.open();
  const hub = new SubscriptionHub({ store }, { headPollIntervalMs: 200 });
  after(async () => {
    await hub.close();
    await store.close();
    await server.stop();
  });

  describe('a PostgreSQL server restart under load', () => {
    it('fails calls with unavailable while the server is down, then recovers by itself, losing nothing acknowledged', async () => {
      await store.saveSubscription({ type: 'by_stream', selector: '$all', name: 'restart-sub' });
      const session = await hub.connect('restart-sub');
      const live = new Reader(await hub.observe({ type: 'by_stream', selector: '$all', startFrom: 0 }));
      const acknowledged: number[] = [];
      const codes = new Map<string, number>();
      let phase: 'before' | 'down' | 'after' = 'before';
      let okAfter = 0;
      let slowest = 0;
      let stop = false;
      const worker = async (w: number) => {
        for (let i = 0; !stop && i < 5_000; i++) {
          const started = Date.now();
          try {
            const r = await store.append(`w-${w}`, [{ eventType: 'E', data: { w, i } }]);
            acknowledged.push(r.position);
            await store.readStream(`w-${w}`, { count: 1, direction: 'backward' });
            if (phase === 'after') okAfter++;
          } catch (err) {
            assert.ok(err instanceof GaterError, String(err));
            codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          slowest = Math.max(slowest, Date.now() - started);
        }
      };
      const workers = Array.from({ length: 4 }, (_, w) => worker(w));
      await eventually(() => assert.ok(acknowledged.length >= 50));
      phase = 'down';
      await server.kill();
      await eventually(() => assert.ok((codes.get('unavailable') ?? 0) >= 4), 10_000);
      // The lease lives on a connection of its own: it is gone with the server.
      assert.equal(await session.ended, 'lease_lost');
      await server.start();
      phase = 'after';
      await eventually(() => assert.ok(okAfter >= 50), 30_000);
      stop = true;
      await Promise.all(workers);

      assert.deepEqual([...codes.keys()], ['unavailable'], `only unavailable while down: ${JSON.stringify([...codes])}`);
      assert.ok(slowest < 10_000, `no call hung (slowest ${slowest} ms)`);
      const stored = new Set((await readAll(store)).map((e) => e.position));
      for (const p of acknowledged) assert.ok(stored.has(p), `acknowledged position ${p} survived the restart`);

      // Live readers resume: the observer reaches the head, including events appended after the restart.
      const head = (await store.stats()).lastPosition;
      const seen = await live.take(head + 1, 30_000);
      assert.equal(seen.at(-1)?.event.position, head);
      // And the subscription can be delivered again.
      const again = new Reader(await eventually(() => hub.connect('restart-sub')));
      assert.equal((await again.next())?.event.position, 0);
    });
  });
}
