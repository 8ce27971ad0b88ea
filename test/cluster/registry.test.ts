/**
 * Issue 5 end to end: the mesh and the replicated worker registry across real `gater start` processes on 127.0.0.1.
 * Registries are compared through `/v1/cluster` (the digest: one (incarnation, version) stamp per node record, and
 * the entries). Gossip runs every 200 ms, so a killed node is dead after about 1 s; waits are bounded generously
 * (15 s) for a loaded 2-core machine.
 */
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Mesh, type ClusterSecrets } from '../../src/mesh/index.ts';
import { clusterView, digestKey, entriesKey, metric, type ClusterView } from '../support/cluster-view.ts';
import { TestCluster, waitFor, type GaterProcess } from '../support/gater-process.ts';

const FAST_GOSSIP = { GATER_GOSSIP_INTERVAL_MS: '200' };
const CONVERGENCE_BOUND_MS = 15_000;

/**
 * Waits until every node in `nodes` holds the same registry (digest and entries), with a record of each of them and
 * exactly the stores `expected` (store → hosting nodes); returns the common view.
 */
async function identicalRegistries(nodes: GaterProcess[], expected: Record<string, GaterProcess[]>): Promise<ClusterView> {
  const ids = new Map<GaterProcess, string>();
  for (const node of nodes) ids.set(node, (await clusterView(node)).self.nodeId);
  const wantedStores = JSON.stringify(
    Object.entries(expected)
      .flatMap(([store, hosts]) => hosts.map((h) => `${store}@${ids.get(h) ?? h.name}`))
      .sort(),
  );
  const wantedNodes = JSON.stringify([...ids.values()].sort());
  let last = '';
  return waitFor(`identical registries on ${nodes.map((n) => n.name).join(', ')}`, async () => {
    const views = await Promise.all(nodes.map(clusterView));
    const first = views[0]!;
    const same = views.every((v) => digestKey(v) === digestKey(first) && entriesKey(v) === entriesKey(first));
    const stores = JSON.stringify(first.registry.entries.map((e) => `${e.store}@${e.nodeId}`).sort());
    const recorded = JSON.stringify(first.registry.nodes.map((n) => n.nodeId).sort());
    last = same
      ? `stores ${stores}, records of ${recorded}`
      : views.map((v, i) => `${nodes[i]!.name}: ${digestKey(v)} ${entriesKey(v)}`).join('\n');
    return same && stores === wantedStores && recorded === wantedNodes ? first : undefined;
  }, CONVERGENCE_BOUND_MS).catch((err: Error) => {
    throw new Error(`${err.message.replace(/; last: .*$/s, '')}; last:\n${last}`);
  });
}

/** A libp2p mesh in this test process, with `secrets`, that never joins the cluster; it only dials once. */
async function outsider(clusterName: string, secrets: ClusterSecrets): Promise<Mesh> {
  const mesh = new Mesh({}, { privateKey: await generateKeyPair('Ed25519'), listenHost: '127.0.0.1', port: 0, clusterSecrets: secrets, clusterName, dialTimeoutMs: 3_000 });
  await mesh.start();
  return mesh;
}

describe('the registry across 3, then 5 processes', () => {
  const cluster = new TestCluster();
  const n1 = cluster.add('n1', { stores: ['alpha'], env: FAST_GOSSIP });
  const n2 = cluster.add('n2', { stores: ['beta'], env: FAST_GOSSIP });
  const n3 = cluster.add('n3', { stores: [], env: FAST_GOSSIP });
  const n4 = cluster.add('n4', { stores: ['delta'], env: FAST_GOSSIP });
  const n5 = cluster.add('n5', { stores: [], env: FAST_GOSSIP });
  const all = [n1, n2, n3, n4, n5];

  before(() => Promise.all([n1.start(), n2.start(), n3.start()]));
  after(() => cluster.close());

  it('three nodes hold identical registries after start', async () => {
    await identicalRegistries([n1, n2, n3], { alpha: [n1], beta: [n2] });
  });

  it('five nodes: the workers of the two added nodes appear everywhere, registries identical', async () => {
    await Promise.all([n4.start(), n5.start()]);
    const view = await identicalRegistries(all, { alpha: [n1], beta: [n2], delta: [n4] });
    assert.equal(view.registry.nodes.length, 5);
    // /v1/stores, the gateway's view of the same registry, agrees on every node.
    for (const node of all) {
      const { body } = await node.json<{ stores: { store: string; workers: unknown[] }[] }>('/v1/stores');
      assert.deepEqual(body.stores.map((s) => `${s.store}:${s.workers.length}`), ['alpha:1', 'beta:1', 'delta:1']);
    }
  });

  it('SIGKILL purges the node everywhere; restarted, its new incarnation replaces the old entries', async () => {
    const old = await clusterView(n2);
    const oldEntry = old.registry.entries.find((e) => e.store === 'beta')!;
    await n2.kill();
    const survivors = all.filter((n) => n !== n2);
    const purged = await identicalRegistries(survivors, { alpha: [n1], delta: [n4] });
    assert.ok(!purged.registry.nodes.some((n) => n.nodeId === old.self.nodeId), 'the dead node has no record left');

    await n2.start();
    const reborn = (await clusterView(n2)).self;
    assert.ok(reborn.incarnation > old.self.incarnation);
    const view = await identicalRegistries(all, { alpha: [n1], beta: [n2], delta: [n4] });
    assert.equal(view.registry.nodes.find((n) => n.nodeId === reborn.nodeId)?.incarnation, reborn.incarnation);
    const beta = view.registry.entries.filter((e) => e.store === 'beta');
    assert.equal(beta.length, 1, 'one worker, the new one');
    assert.notEqual(beta[0]!.startedAt, oldEntry.startedAt);
  });

  it('a host without the secret cannot connect to the mesh; one with it can (the control)', async () => {
    const target = await clusterView(n1);
    const connectionsBefore = target.mesh.connections;
    const name = cluster.identity.name;
    for (const secrets of [{ primary: randomBytes(24).toString('hex'), previous: [] }, { previous: [] }]) {
      const mesh = await outsider(name, secrets);
      try {
        await assert.rejects(mesh.dial(target.self.nodeId, target.mesh.addrs), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'unavailable', err.message);
          return true;
        });
        assert.equal(mesh.connections().length, 0);
      } finally {
        await mesh.stop();
      }
    }
    assert.equal((await clusterView(n1)).mesh.connections, connectionsBefore, 'no connection showed on the node');

    // The same dial with the cluster secret connects, and the node counts it: the assertions above could fail.
    const insider = await outsider(name, { primary: cluster.identity.secret, previous: [] });
    try {
      await insider.dial(target.self.nodeId, target.mesh.addrs);
      assert.ok(insider.isConnected(target.self.nodeId));
      await waitFor('n1 to count the insider', async () => (await clusterView(n1)).mesh.connections === connectionsBefore + 1);
    } finally {
      await insider.stop();
    }
  });

  it('two nodes hosting the same embedded store: a conflict on every node, calls refused until one goes', async () => {
    const twin = cluster.add('twin', { stores: ['alpha'], env: FAST_GOSSIP });
    // The twin is never ready: its own registry reports the conflict.
    await twin.start({ until: 'live' });
    const everyone = [...all, twin];
    const pair = [(await clusterView(n1)).self.nodeId, (await clusterView(twin)).self.nodeId].sort();
    for (const node of everyone) {
      await waitFor(`${node.name} to report the alpha conflict`, async () => {
        const { conflicts } = (await clusterView(node)).registry;
        return JSON.stringify(conflicts) === JSON.stringify([{ store: 'alpha', nodeIds: pair }]);
      }, CONVERGENCE_BOUND_MS);
      const ready = await node.json<{ checks: Record<string, { ok: boolean; detail?: string }> }>('/health/ready');
      assert.equal(ready.status, 503, node.name);
      assert.equal(ready.body.checks['registry']?.ok, false);
      assert.match(ready.body.checks['registry']?.detail ?? '', /alpha/);
      assert.equal(await metric(node, 'gater_registry_conflicts'), 1, node.name);
      const call = await node.json<{ error: { code: string } }>('/v1/stores/alpha/streams/s/version');
      assert.equal(call.body.error?.code, 'store_conflict', `${node.name}: ${JSON.stringify(call.body)}`);
    }
    // Other stores still serve.
    assert.equal((await n3.json('/v1/stores/delta/streams/s/version')).status, 200);

    await twin.kill();
    for (const node of all) {
      await waitFor(`${node.name} to clear the conflict`, async () => (await node.json('/health/ready')).status === 200, CONVERGENCE_BOUND_MS);
      assert.equal(await metric(node, 'gater_registry_conflicts'), 0);
    }
    assert.equal((await n3.json('/v1/stores/alpha/streams/s/version')).status, 200);
  });
});
