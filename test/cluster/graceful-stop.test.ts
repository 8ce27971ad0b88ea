/**
 * A store node stopped gracefully (SIGTERM) under load relayed from a gateway node: every append the clients were
 * told failed was not written, and every one they were told succeeded is stored. Before, the stopping node closed its
 * peers' connections while their appends were still being written, and a written append was reported `unavailable`
 * (retryable), so a client retrying it wrote it twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestCluster, waitFor } from '../support/gater-process.ts';

describe('a store node stopped gracefully under relayed load', () => {
  const cluster = new TestCluster();
  const gateway = cluster.add('gw', { stores: [] });
  const store = cluster.add('store', { stores: ['alpha'] });

  before(async () => {
    await cluster.startAll();
    await cluster.formed();
  });
  after(() => cluster.close());

  // Each round stops the node while appends are in flight, then starts it again; a bad stop shows in most rounds.
  for (const round of [1, 2, 3]) {
    it(`reports no written append as failed, and loses no acknowledged one (round ${round})`, async () => {
      const acknowledged = new Set<string>();
      const refused = new Set<string>();
      let stop = false;
      const deadline = Date.now() + 30_000;
      const writer = async (w: number) => {
        for (let i = 0; !stop && Date.now() < deadline && i < 2_000; i++) {
          const key = `${round}-${w}-${i}`;
          const res = await gateway
            .post(`/v1/stores/alpha/streams/w-${w}/events`, { events: [{ eventType: 'E', data: { key } }] })
            .catch(() => ({ status: 0 }));
          (res.status === 200 ? acknowledged : refused).add(key);
          if (res.status !== 200) await new Promise((r) => setTimeout(r, 20));
        }
      };
      if (!store.running) await store.start();
      await waitFor('the gateway to see the store', async () => {
        const { body } = await gateway.json<{ stores: { store: string; workers: unknown[] }[] }>('/v1/stores');
        return body.stores.some((s) => s.store === 'alpha' && s.workers.length > 0);
      });
      const writers = Array.from({ length: 64 }, (_, w) => writer(w));
      await waitFor('some load before the stop', () => acknowledged.size >= 200, 20_000, 20);
      await store.stop(); // SIGTERM
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await Promise.all(writers);
      assert.ok(refused.size > 0, 'appends were refused once the store node was gone');

      await store.start();
      const stored = new Set<string>();
      for (let from = 0; ; ) {
        const { body } = await store.json<{ events: { data: { key: string } }[]; scannedTo: number }>(
          `/v1/stores/alpha/all?from=${from}&count=1000`,
        );
        for (const e of body.events) if (e.data.key.startsWith(`${round}-`)) stored.add(e.data.key);
        if (body.events.length < 1000) break;
        from = body.scannedTo + 1;
      }
      const writtenYetRefused = [...refused].filter((key) => stored.has(key));
      assert.deepEqual(writtenYetRefused, [], 'appends written although their callers were told they failed');
      const lost = [...acknowledged].filter((key) => !stored.has(key));
      assert.deepEqual(lost, [], 'acknowledged appends missing');
      assert.equal(stored.size, acknowledged.size);
    });
  }
});
