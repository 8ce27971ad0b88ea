/**
 * An intruder on the namespace rig: three hosts of one cluster (gater-1 hosts store-1, gater-2 store-2, gater-3 is a
 * gateway), then a fourth host on the same bridge running a node of the same cluster name with a wrong secret,
 * hosting a store of its own, gossiping by broadcast like the others and also straight to gater-1 (a unicast seed).
 *
 * What must hold: the intruder hears of no peer and gets no mesh connection, no registry entry and no store data;
 * the members never list it, its store or its node id; every member and the intruder count each other's packets as
 * dropped for bad authentication, and the count grows while the intruder keeps trying.
 *
 * Bounds: gossip every 500 ms; the intruder is watched for 12 beacon intervals (6 s) before the checks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClusterView } from '../../scripts/rig-lib/formation.ts';
import { RIG_GOSSIP_PORT } from '../../scripts/rig-lib/topology.ts';
import type { HostState } from '../../scripts/rig-lib/state.ts';
import { waitFor } from '../support/gater-process.ts';
import { metricValue, openTestRig, rigSkipReason, TEST_GOSSIP_INTERVAL_MS, type TestRig } from '../support/rig-harness.ts';

const skip = await rigSkipReason();
const WATCH_MS = 12 * TEST_GOSSIP_INTERVAL_MS;
const BAD_AUTH = 'gater_gossip_dropped_total{reason="bad_auth"}';

describe('an intruder with a wrong secret on the same bridge', { skip }, () => {
  let t: TestRig;
  let intruder: HostState;
  let intruderView: ClusterView;

  async function badAuthDrops(index: number): Promise<number> {
    const res = await t.rig.http(index).json<string>('/metrics');
    return metricValue(String(res.body), BAD_AUTH) ?? 0;
  }

  before(async () => {
    t = await openTestRig('intruder', { hosts: 3, gateways: 1, env: { GATER_GOSSIP_INTERVAL_MS: String(TEST_GOSSIP_INTERVAL_MS) } });
    intruder = await t.rig.add({
      role: 'store',
      secret: 'not-the-cluster-secret-0123456789',
      env: { GATER_SEEDS: `${t.rig.host(1).address}:${RIG_GOSSIP_PORT}` },
    });
    await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
    intruderView = (await t.rig.view(intruder.index))!;
    assert.ok(intruderView, 'the intruder node runs and answers');
  });
  after(() => t?.close());

  it('the intruder hears of no peer, connects to none, and holds no registry data but its own', () => {
    assert.deepEqual(intruderView.peers, []);
    assert.equal(intruderView.mesh.connections, 0);
    assert.deepEqual(intruderView.registry.entries.map((e) => e.store), ['store-4']);
  });

  it('the members never list the intruder, its node id or its store', async () => {
    await t.rig.waitFormed(10_000);
    for (const index of [1, 2, 3]) {
      const view = (await t.rig.view(index))!;
      assert.deepEqual(view.peers.map((p) => p.name).sort(), [1, 2, 3].filter((i) => i !== index).map((i) => `gater-${i}`));
      assert.ok(!view.peers.some((p) => p.nodeId === intruderView.self.nodeId));
      assert.deepEqual([...new Set(view.registry.entries.map((e) => e.store))].sort(), ['store-1', 'store-2']);
      assert.equal(view.mesh.connections, 2);
    }
  });

  it('no store data crosses either way', async () => {
    const appended = await t.rig.http(2).post('/v1/stores/store-1/streams/secret-1/events', { events: [{ eventType: 'private:v1', data: { n: 1 } }] });
    assert.equal(appended.status, 200);
    for (const path of ['/v1/stores/store-1/streams/secret-1/events', '/v1/stores/store-2/streams', '/v1/stores/store-1/all']) {
      const res = await t.rig.http(intruder.index).json<{ error: { code: string } }>(path);
      assert.equal(res.status, 503, `${path} through the intruder: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'no_workers');
    }
    const stores = await t.rig.http(intruder.index).json<{ stores: { store: string }[] }>('/v1/stores');
    assert.deepEqual(stores.body.stores.map((s) => s.store), ['store-4']);
    const theirs = await t.rig.http(3).json<{ error: { code: string } }>('/v1/stores/store-4/streams');
    assert.equal(theirs.status, 503);
    assert.equal(theirs.body.error.code, 'no_workers');
  });

  it("each side counts the other's packets as dropped for bad authentication, more while the intruder keeps on", async () => {
    const before = new Map<number, number>();
    for (const index of [1, 2, 3, intruder.index]) {
      const drops = await badAuthDrops(index);
      assert.ok(drops > 0, `host ${index} dropped ${drops} packets for bad_auth`);
      before.set(index, drops);
    }
    for (const index of [1, 2, 3]) {
      await waitFor(`host ${index} to drop more of the intruder's packets`, async () => (await badAuthDrops(index)) > before.get(index)!, 10_000, 200);
    }
    console.log(`# bad_auth drops after ${WATCH_MS} ms: ${[...before].map(([i, n]) => `host ${i}: ${n}`).join(', ')}`);
  });
});
