/**
 * Three real node processes on loopback form a cluster, replicate the registry, relay calls, and purge a killed node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestCluster, waitFor } from '../support/gater-process.ts';

describe('a three-process cluster on loopback', () => {
  const cluster = new TestCluster();
  const a = cluster.add('a', { stores: ['alpha'] });
  const b = cluster.add('b', { stores: [] });
  const c = cluster.add('c', { stores: ['gamma'] });

  before(async () => {
    await cluster.startAll();
    await cluster.formed();
  });
  after(() => cluster.close());

  it('every node sees every store with its worker', async () => {
    for (const node of [a, b, c]) {
      await waitFor(`${node.name} to see alpha and gamma`, async () => {
        const { body } = await node.json<{ stores: { store: string; workers: unknown[] }[] }>('/v1/stores');
        return body.stores.filter((s) => s.workers.length > 0).map((s) => s.store).join() === 'alpha,gamma';
      });
    }
  });

  it('relays an append through one node to a store on another, read through a third', async () => {
    const append = await b.post('/v1/stores/alpha/streams/relay-1/events', {
      expectedVersion: 'no_stream',
      events: [{ eventType: 'humidity_measured:v1', data: { humidity: 65 } }],
    });
    assert.equal(append.status, 200, JSON.stringify(append.body));
    const read = await c.json<{ events: { eventType: string }[] }>('/v1/stores/alpha/streams/relay-1/events');
    assert.deepEqual(read.body.events.map((e) => e.eventType), ['humidity_measured:v1']);
    const conflict = await c.post('/v1/stores/alpha/streams/relay-1/events', { expectedVersion: 'no_stream', events: [{ eventType: 'x' }] });
    assert.equal(conflict.status, 409);
    assert.equal((conflict.body as { error: { currentVersion: number } }).error.currentVersion, 0);
  });

  it('purges the workers of a killed node everywhere', async () => {
    await c.kill();
    for (const node of [a, b]) {
      await waitFor(`${node.name} to purge gamma`, async () => {
        const { body } = await node.json<{ stores: { store: string }[] }>('/v1/stores');
        return !body.stores.some((s) => s.store === 'gamma');
      }, 15_000);
    }
    const res = await b.json('/v1/stores/gamma/streams/x/version');
    assert.equal(res.status, 503);
    assert.equal((res.body as { error: { code: string } }).error.code, 'no_workers');
  });
});
