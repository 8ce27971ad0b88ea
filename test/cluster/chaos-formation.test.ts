/**
 * Formation on the namespace rig: five hosts (three store nodes, two gateway nodes), each a network namespace with
 * its own address on one bridge, find each other by gossip alone — once by broadcast (as in the seed and
 * docker-compose.yaml), once by multicast — and serve calls across the mesh.
 *
 * Bounds: formation within 45 s of starting the nodes (it takes 3–6 s on an idle 2-core machine; the bound allows
 * for a machine busy with other tests); each rig is torn down and its namespaces are checked gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run } from '../../scripts/rig-lib/commands.ts';
import type { ClusterView } from '../../scripts/rig-lib/formation.ts';
import { RIG_MULTICAST_GROUP, type GossipMode } from '../../scripts/rig-lib/topology.ts';
import { openTestRig, rigSkipReason, type TestRig } from '../support/rig-harness.ts';

const skip = await rigSkipReason();
const FORMATION_BOUND_MS = 45_000;

for (const mode of ['broadcast', 'multicast'] as GossipMode[]) {
  describe(`five hosts form a cluster by ${mode} gossip`, { skip }, () => {
    let t: TestRig;
    let formedInMs = 0;

    before(async () => {
      const started = Date.now();
      t = await openTestRig(`form-${mode}`, { hosts: 5, gateways: 2, mode, timeoutMs: FORMATION_BOUND_MS });
      formedInMs = Date.now() - started;
    });
    after(() => t?.close());

    it('every node sees the four others alive and connected, each store once on its own node', async () => {
      const { rig } = t;
      const views = new Map<string, ClusterView>();
      for (const host of rig.hosts) {
        const view = await rig.view(host.index);
        assert.ok(view, `${host.name} answers`);
        views.set(host.name, view);
      }
      const ids = new Map([...views].map(([name, v]) => [name, v.self.nodeId]));
      for (const host of rig.hosts) {
        const view = views.get(host.name)!;
        assert.deepEqual(view.peers.map((p) => `${p.name}:${p.state}:${p.connected}`).sort(),
          rig.hosts.filter((h) => h !== host).map((h) => `${h.name}:alive:true`));
        const entries = view.registry.entries.map((e) => `${e.store}@${e.nodeId}`).sort();
        assert.deepEqual(entries, ['store-1@' + ids.get('gater-1'), 'store-2@' + ids.get('gater-2'), 'store-3@' + ids.get('gater-3')].sort());
        assert.deepEqual(view.registry.conflicts, []);
      }
      // Peers were found on the bridge, not on loopback: their gossip endpoints are their rig addresses.
      const seenFrom1 = (await rig.http(1).json<{ peers: { name: string; endpoint: string }[] }>('/v1/cluster')).body.peers;
      for (const peer of seenFrom1) {
        const host = rig.hosts.find((h) => h.name === peer.name)!;
        assert.ok(peer.endpoint.startsWith(`${host.address}:`), `${peer.name} heard from ${peer.endpoint}`);
      }
      console.log(`# ${mode}: 5 hosts formed in ${formedInMs} ms (nodes started and every view complete)`);
    });

    it(`gossip really goes by ${mode}: ${mode === 'multicast' ? 'every host joined the group on its bridge link' : 'no host joined a multicast group'}`, async () => {
      for (const host of t.rig.hosts) {
        const groups = await run('ip', ['netns', 'exec', host.namespace, 'ip', 'maddr', 'show', 'dev', 'eth0']);
        assert.equal(groups.includes(RIG_MULTICAST_GROUP), mode === 'multicast', `${host.name}: ${groups}`);
      }
    });

    it('relays a call from a gateway host to a store host and reads it back through the other gateway', async () => {
      const { rig } = t;
      const appended = await rig.http(4).post(`/v1/stores/store-2/streams/formed-${mode}/events`, {
        expectedVersion: 'no_stream',
        events: [{ eventType: 'humidity_measured:v1', data: { humidity: 61 } }],
      });
      assert.equal(appended.status, 200, JSON.stringify(appended.body));
      const read = await rig.http(5).json<{ events: { data: { humidity: number } }[] }>(`/v1/stores/store-2/streams/formed-${mode}/events`);
      assert.equal(read.status, 200);
      assert.deepEqual(read.body.events.map((e) => e.data.humidity), [61]);
    });
  });
}
