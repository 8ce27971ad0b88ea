/**
 * A partition on the namespace rig: three hosts (gater-1 hosts store-1, gater-2 store-2, gater-3 is a gateway);
 * gater-1's link goes down, then up again. Its node keeps running throughout, alone.
 *
 * What must hold: the majority marks gater-1 dead and reports store-1 unreachable (no_workers); gater-1 marks the
 * others dead and keeps serving its own store-1 locally; at no moment does any node see store-1 (or any store) twice
 * or in conflict; after the heal every registry holds the same entries again and store-1 is served everywhere, the
 * append made on gater-1 while it was cut off included.
 *
 * Bounds: gossip every 500 ms (dead after 2.5 s); each side marks the other dead within 15 s; the registries
 * reconverge within 20 s of the heal; registries are sampled every 200 ms for duplicates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClusterView } from '../../scripts/rig-lib/formation.ts';
import { waitFor } from '../support/gater-process.ts';
import { openTestRig, rigSkipReason, TEST_GOSSIP_INTERVAL_MS, type TestRig } from '../support/rig-harness.ts';

const skip = await rigSkipReason();
const DEAD_BOUND_MS = 15_000;
const RECONVERGE_BOUND_MS = 20_000;
const SAMPLE_INTERVAL_MS = 200;
/**
 * Known gap, reported: a purged node is refused until its incarnation grows (src/registry/worker-registry.ts keeps
 * `purged` per incarnation), and a healed partition does not restart the node, so its workers never come back into
 * the others' registries. This test runs and reports; it fails the suite once the gap is closed and this is removed.
 */
function entriesOf(view: ClusterView): string[] {
  return view.registry.entries.map((e) => `${e.store}@${e.nodeId}`).sort();
}

describe('a partitioned host, then healed', { skip }, () => {
  let t: TestRig;
  let sampling = true;
  let sampler: Promise<void> = Promise.resolve();
  let samples = 0;
  const duplicates: string[] = [];

  before(async () => {
    t = await openTestRig('partition', { hosts: 3, gateways: 1, env: { GATER_GOSSIP_INTERVAL_MS: String(TEST_GOSSIP_INTERVAL_MS) } });
    sampler = (async () => {
      while (sampling) {
        for (const host of t.rig.hosts) {
          const view = await t.rig.view(host.index, 1_000);
          if (view === undefined) continue;
          samples++;
          const stores = view.registry.entries.map((e) => e.store);
          const twice = stores.filter((s, i) => stores.indexOf(s) !== i);
          if (twice.length > 0 || view.registry.conflicts.length > 0) {
            duplicates.push(`${host.name} sees ${JSON.stringify(entriesOf(view))} conflicts ${JSON.stringify(view.registry.conflicts)}`);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
      }
    })();
  });
  after(async () => {
    sampling = false;
    await sampler;
    await t?.close();
  });

  it('each side marks the other dead; the majority reports store-1 unreachable', async () => {
    const { rig } = t;
    const cutAt = Date.now();
    await rig.partition(1);
    for (const index of [2, 3]) {
      await waitFor(`gater-${index} to mark gater-1 dead and drop store-1`, async () => {
        const view = await rig.view(index);
        return view?.peers.find((p) => p.name === 'gater-1')?.state === 'dead' && !view.registry.entries.some((e) => e.store === 'store-1');
      }, DEAD_BOUND_MS, 100);
    }
    await waitFor('gater-1 to mark both others dead', async () => {
      const view = await rig.view(1);
      return view !== undefined && view.peers.length === 2 && view.peers.every((p) => p.state === 'dead');
    }, DEAD_BOUND_MS, 100);
    console.log(`# both sides saw the other dead ${Date.now() - cutAt} ms after the cut`);

    const unreachable = await rig.http(3).json<{ error: { code: string } }>('/v1/stores/store-1/streams/p-1/version');
    assert.equal(unreachable.status, 503);
    assert.equal(unreachable.body.error.code, 'no_workers');
    const listed = await rig.http(2).json<{ stores: { store: string; workers: unknown[] }[] }>('/v1/stores');
    assert.deepEqual(listed.body.stores.filter((s) => s.workers.length > 0).map((s) => s.store), ['store-2']);
  });

  it('the cut-off host serves its own store alone, and nothing else', async () => {
    const { rig } = t;
    const local = await rig.http(1).post('/v1/stores/store-1/streams/p-1/events', {
      events: [{ eventType: 'written_alone:v1', data: { during: 'partition' } }],
    });
    assert.equal(local.status, 200, JSON.stringify(local.body));
    const remote = await rig.http(1).json<{ error: { code: string } }>('/v1/stores/store-2/streams/p-2/version');
    assert.equal(remote.status, 503);
    assert.equal(remote.body.error.code, 'no_workers');
  });

  it('after the heal every registry holds the same entries and store-1 is served everywhere', async () => {
    const { rig } = t;
    const healedAt = Date.now();
    await rig.heal(1);
    await rig.waitFormed(RECONVERGE_BOUND_MS);
    await waitFor('every registry to hold store-1 and store-2 once each, the same everywhere', async () => {
      const views = await Promise.all(rig.hosts.map((h) => rig.view(h.index)));
      if (views.some((v) => v === undefined)) return false;
      const first = JSON.stringify(entriesOf(views[0]!));
      return views.every((v) => JSON.stringify(entriesOf(v!)) === first) && entriesOf(views[0]!).length === 2;
    }, RECONVERGE_BOUND_MS, 100);
    console.log(`# registries reconverged ${Date.now() - healedAt} ms after the heal`);
    for (const index of [2, 3]) {
      const read = await rig.http(index).json<{ events: { data: { during: string } }[] }>('/v1/stores/store-1/streams/p-1/events');
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.deepEqual(read.body.events.map((e) => e.data.during), ['partition']);
    }
  });

  it('no node ever saw a store twice or in conflict', () => {
    assert.ok(samples > 10, `registries were sampled (${samples})`);
    assert.deepEqual(duplicates, []);
  });
});
