/**
 * A gateway worker over a real SQLite store honours its caller's deadline and cancellation: a call arriving after the
 * deadline is not run, and an append whose caller gave up before its batch formed is not written. (The relayed path,
 * over the mesh to a worker whose store is held up, is proven in test/cluster/postgres-failover.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteEventStore } from '../../src/store/sqlite/index.ts';
import { SubscriptionHub } from '../../src/store/subscriptions/index.ts';
import { GatewayWorker } from '../../src/worker/gateway-worker.ts';
import type { StoreCall } from '../../src/worker/protocol.ts';

describe('GatewayWorker and its caller', () => {
  let dir = '';
  let store: SqliteEventStore;
  let hub: SubscriptionHub;
  let worker: GatewayWorker;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gater-worker-'));
    store = new SqliteEventStore({}, { storeId: 'w', dataDir: dir });
    await store.open();
    hub = new SubscriptionHub({ store });
    worker = new GatewayWorker({ store, hub }, { workerId: 'w-1' });
  });
  after(async () => {
    await hub.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const append = (streamId: string): StoreCall => ({
    store: 'w',
    op: 'append',
    args: { streamId, events: [{ eventType: 'E', data: {} }] },
  });

  it('does not run a call that arrives after its deadline', async () => {
    await worker.call(append('kept'));
    await assert.rejects(
      worker.call({ store: 'w', op: 'deleteStream', args: { streamId: 'kept' } }, { deadlineAt: Date.now() - 1 }),
      { code: 'timeout' },
    );
    assert.equal(await store.streamVersion('kept'), 0);
    assert.equal(worker.inFlight, 0);
  });

  it('does not write an append whose caller gave up before its batch formed, and writes one still awaited', async () => {
    const controller = new AbortController();
    const given = worker.call(append('given-up'), { deadlineAt: Date.now() + 60_000, signal: controller.signal });
    const awaited = worker.call(append('awaited'), { deadlineAt: Date.now() + 60_000, signal: new AbortController().signal });
    controller.abort();
    await assert.rejects(given, { code: 'unavailable' });
    assert.deepEqual(await awaited, { version: 0, position: 1 });
    assert.equal(await store.streamVersion('given-up'), -1);
  });
});
