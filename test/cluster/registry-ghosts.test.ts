/**
 * A crashed node's registry record must not outlive it on nodes that joined while it was dying, nor spread from them
 * to later joiners (real `gater start` processes on 127.0.0.1, gossip every second as by default, so the dead window
 * is 5 s). X hosts the embedded store `alpha` and is SIGKILLed; C starts at once, while A still holds X's record
 * (suspect, not yet dead), so the full exchange of C and A hands C that record. C's discovery never hears X and so
 * never reports it dead: the record must never reach C's view, must be dropped, and must not reach D, which starts
 * after A has purged X. Y then hosts `alpha` anew: no conflict anywhere, and calls through C reach Y.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { clusterView, logLines, peersIn } from '../support/cluster-view.ts';
import { TestCluster, waitFor, type GaterProcess } from '../support/gater-process.ts';

const BOUND_MS = 20_000;

/** Polls `nodes` every 100 ms until stopped, keeping every sighting of `nodeId` in their registries. */
function watchFor(nodeId: string, nodes: () => GaterProcess[]): { sightings: string[]; stop(): Promise<void> } {
  const sightings: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const node of nodes()) {
        const view = await clusterView(node).catch(() => undefined);
        if (view === undefined) continue;
        const stores = view.registry.entries.filter((e) => e.nodeId === nodeId).map((e) => e.store);
        const recorded = view.registry.nodes.some((n) => n.nodeId === nodeId);
        if (stores.length > 0 || recorded) sightings.push(`${node.name}: record ${recorded}, stores ${JSON.stringify(stores)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    sightings,
    async stop() {
      running = false;
      await loop;
    },
  };
}

describe('the registry record of a node that crashed before a newcomer could see it', () => {
  const cluster = new TestCluster();
  const a = cluster.add('a', { stores: [] });
  const x = cluster.add('x', { stores: ['alpha'] });
  const c = cluster.add('c', { stores: [] });
  const d = cluster.add('d', { stores: [] });
  const y = cluster.add('y', { stores: ['alpha'] });
  after(() => cluster.close());

  it('never shows on newcomers, is dropped, does not spread, and leaves no conflict behind', async () => {
    await Promise.all([a.start(), x.start()]);
    const xId = (await clusterView(x)).self.nodeId;
    await waitFor('a to list alpha on x', async () =>
      (await clusterView(a)).registry.entries.some((e) => e.store === 'alpha' && e.nodeId === xId), BOUND_MS);

    await x.kill();
    const killedAt = Date.now();
    await c.start();
    const watch = watchFor(xId, () => [c, d, y].filter((n) => n.running));
    try {
      const cId = (await clusterView(c)).self.nodeId;
      // The premise: C joined A before A gave X up, so their exchange could carry X's record.
      await waitFor('a and c to connect', async () =>
        (await clusterView(a)).peers.some((p) => p.nodeId === cId && p.connected), BOUND_MS);
      const aView = await clusterView(a);
      const joinedInWindow = aView.peers.find((p) => p.nodeId === xId)?.state !== 'dead';
      assert.ok(joinedInWindow, `c must join before a declares x dead (${Date.now() - killedAt} ms after the kill)`);

      await waitFor('a to purge x', async () => {
        const view = await clusterView(a);
        return view.peers.find((p) => p.nodeId === xId)?.state === 'dead' && !view.registry.nodes.some((n) => n.nodeId === xId);
      }, BOUND_MS);
      await d.start();
      await y.start({ until: 'live' });
      const yId = (await clusterView(y)).self.nodeId;
      for (const node of [a, c, d, y]) {
        await waitFor(`${node.name} to list alpha on y alone, without conflict`, async () => {
          const { registry } = await clusterView(node);
          const alpha = registry.entries.filter((e) => e.store === 'alpha').map((e) => e.nodeId);
          return registry.conflicts.length === 0 && JSON.stringify(alpha) === JSON.stringify([yId]);
        }, BOUND_MS);
      }
      // C received X's record and gave it up: its discovery never reported X alive.
      await waitFor('c to drop the record of x', () =>
        logLines(c).some((l) => l['peer'] === xId && /never reported alive/.test(String(l['msg']))), BOUND_MS);
      assert.deepEqual(await peersIn(c, 'alive'), [(await clusterView(a)).self.nodeId, (await clusterView(d)).self.nodeId, yId].sort());

      const append = await c.post('/v1/stores/alpha/streams/after-ghost/events', { events: [{ eventType: 'x', data: {} }] });
      assert.equal(append.status, 200, JSON.stringify(append.body));
      for (const node of [c, d, y]) {
        const ready = await node.json('/health/ready');
        assert.equal(ready.status, 200, `${node.name}: ${JSON.stringify(ready.body)}`);
      }
    } finally {
      await watch.stop();
    }
    assert.deepEqual(watch.sightings, [], 'the dead node showed in a newcomer registry');
  });
});
