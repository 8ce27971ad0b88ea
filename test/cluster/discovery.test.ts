/**
 * Issue 4 end to end: gossip discovery between real `gater start` processes on 127.0.0.1, observed the way an operator
 * sees it (`/v1/cluster`, `/metrics`, the log). Failure detection runs with a 200 ms gossip interval, so a peer is
 * suspect after 0.6 s of silence and dead after 1 s; waits are bounded generously (10 s) for a loaded 2-core machine.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { clusterView, logLines, metric, peersIn, type ClusterView } from '../support/cluster-view.ts';
import { GaterProcess, TestCluster, freeUdpPort, uniqueCluster, waitFor } from '../support/gater-process.ts';

const FAST_GOSSIP = { GATER_GOSSIP_INTERVAL_MS: '200' };
const DETECTION_BOUND_MS = 10_000;

function otherSecret(): string {
  return randomBytes(24).toString('hex');
}

/** Waits until `node` sees exactly `others` alive, each with an open mesh connection. */
async function seesAliveAndConnected(node: GaterProcess, others: GaterProcess[]): Promise<ClusterView> {
  const ids = await Promise.all(others.map(async (o) => (await clusterView(o)).self.nodeId));
  return waitFor(`${node.name} to see ${others.map((o) => o.name).join(', ')} alive and connected`, async () => {
    const view = await clusterView(node);
    const alive = view.peers.filter((p) => p.state === 'alive' && p.connected).map((p) => p.nodeId);
    return ids.every((id) => alive.includes(id)) ? view : undefined;
  });
}

async function appendThrough(node: GaterProcess, store: string, stream: string): Promise<void> {
  const res = await node.post(`/v1/stores/${store}/streams/${stream}/events`, { events: [{ eventType: 'probed:v1' }] });
  assert.equal(res.status, 200, `${node.name} → ${store}: ${JSON.stringify(res.body)}`);
}

describe('discovery: three processes, and a fourth with another secret', () => {
  const cluster = new TestCluster();
  const a = cluster.add('a', { stores: [], env: FAST_GOSSIP });
  const b = cluster.add('b', { stores: [], env: FAST_GOSSIP });
  const c = cluster.add('c', { stores: [], env: FAST_GOSSIP });
  // Same cluster name, port and group: its packets reach the others, and theirs reach it.
  const stranger = new GaterProcess({
    name: 'stranger',
    cluster: cluster.identity,
    stores: [],
    env: { ...FAST_GOSSIP, GATER_CLUSTER_SECRET: otherSecret() },
  });
  const ids: Record<string, string> = {};

  before(async () => {
    await Promise.all([cluster.startAll(), stranger.start()]);
    for (const node of [a, b, c, stranger]) ids[node.name] = (await clusterView(node)).self.nodeId;
  });
  after(() => Promise.all([cluster.close(), stranger.close()]));

  it('the three see each other alive, with the details each announced', async () => {
    for (const node of [a, b, c]) {
      const others = [a, b, c].filter((o) => o !== node);
      await seesAliveAndConnected(node, others);
      const view = await clusterView(node);
      for (const other of others) {
        const self = (await clusterView(other)).self;
        const peer = view.peers.find((p) => p.nodeId === self.nodeId);
        assert.ok(peer !== undefined);
        assert.equal(peer.name, other.name);
        assert.equal(peer.incarnation, self.incarnation);
        assert.deepEqual(peer.addrs, (await clusterView(other)).mesh.addrs);
        assert.match(peer.endpoint, /^127\.0\.0\.1:\d+$/);
        assert.ok(Math.abs(Date.now() - Date.parse(peer.lastSeen)) < DETECTION_BOUND_MS, peer.lastSeen);
      }
    }
  });

  it('the stranger sees none of them, none sees it, and both sides count the refused packets as bad_auth', async () => {
    // The packets did cross and were refused: proof that the silence below is authentication, not a lost route.
    for (const node of [a, b, c, stranger]) {
      await waitFor(`${node.name} to count bad_auth drops`, async () =>
        (await metric(node, 'gater_gossip_dropped_total', { reason: 'bad_auth' })) >= 3);
    }
    assert.deepEqual((await clusterView(stranger)).peers, []);
    for (const node of [a, b, c]) {
      const view = await clusterView(node);
      assert.ok(!view.peers.some((p) => p.nodeId === ids['stranger']), `${node.name} lists the stranger`);
      assert.equal(view.peers.length, 2);
    }
  });

  it('a SIGKILLed peer goes suspect then dead everywhere; restarted, it returns with a higher incarnation', async () => {
    const victim = ids['c']!;
    const firstLife = (await clusterView(c)).self.incarnation;
    const linesBefore = new Map([a, b].map((n) => [n, logLines(n).length]));
    await c.kill();
    for (const node of [a, b]) {
      await waitFor(`${node.name} to mark c dead`, async () => (await peersIn(node, 'dead')).includes(victim), DETECTION_BOUND_MS, 50);
    }
    // The monitor logs every transition at warn: after the kill, each survivor logged c suspect, then dead.
    for (const node of [a, b]) {
      const lines = logLines(node).slice(linesBefore.get(node)).filter((l) => l['peer'] === victim);
      const suspected = lines.findIndex((l) => l['msg'] === 'node suspected: not heard lately');
      const left = lines.findIndex((l) => l['msg'] === 'node left the cluster');
      assert.ok(suspected >= 0 && left > suspected, `${node.name} logged ${JSON.stringify(lines.map((l) => l['msg']))}`);
    }

    await c.start();
    const reborn = (await clusterView(c)).self;
    assert.equal(reborn.nodeId, victim, 'the node keeps its id across restarts');
    assert.ok(reborn.incarnation > firstLife, `incarnation ${reborn.incarnation} after ${firstLife}`);
    for (const node of [a, b]) {
      await waitFor(`${node.name} to see c back`, async () => {
        const peer = (await clusterView(node)).peers.find((p) => p.nodeId === victim);
        return peer?.state === 'alive' && peer.incarnation === reborn.incarnation && peer.connected;
      }, DETECTION_BOUND_MS);
    }
  });
});

describe('discovery: unicast seeds alone, multicast off', () => {
  const identity = uniqueCluster();
  const cluster = new TestCluster(identity);
  const nodes: GaterProcess[] = [];

  before(async () => {
    const ports = await Promise.all([freeUdpPort(), freeUdpPort(), freeUdpPort()]);
    const seed = (i: number): string => `127.0.0.1:${ports[i]}`;
    // s2 and s3 know only s1 (and s1 only s2): s2 and s3 must find each other through s1's hints.
    const seedsOf = [seed(1), seed(0), seed(0)];
    for (const [i, name] of ['s1', 's2', 's3'].entries()) {
      nodes.push(
        cluster.add(name, {
          stores: i === 0 ? ['seeded'] : [],
          env: {
            GATER_GOSSIP_MULTICAST: 'false',
            // Not a multicast group: the node would refuse to start if it tried to join one.
            GATER_GOSSIP_ADDR: '127.0.0.1',
            GATER_GOSSIP_PORT: String(ports[i]),
            GATER_SEEDS: seedsOf[i]!,
          },
        }),
      );
    }
    await cluster.startAll();
  });
  after(() => cluster.close());

  it('form the same cluster: everyone alive and connected, calls relayed', async () => {
    for (const node of nodes) await seesAliveAndConnected(node, nodes.filter((o) => o !== node));
    const [s1, s2, s3] = nodes as [GaterProcess, GaterProcess, GaterProcess];
    await waitFor('s3 to see the seeded store', async () =>
      (await clusterView(s3)).registry.entries.some((e) => e.store === 'seeded'));
    await appendThrough(s3, 'seeded', 'via-seeds');
    const read = await s2.json<{ events: unknown[] }>('/v1/stores/seeded/streams/via-seeds/events');
    assert.equal(read.body.events.length, 1);
    assert.equal((await clusterView(s1)).peers.length, 2);
  });
});

describe('discovery and mesh through a secret rotation', () => {
  const identity = uniqueCluster();
  const OLD = identity.secret;
  const NEW = otherSecret();
  const cluster = new TestCluster(identity);
  // Step 2 of the rotation procedure (src/discovery/keyring.ts) has [new, old] nodes next to nodes still sending old
  // ([old, new]); step 3 has them next to nodes on [new] alone.
  const x = cluster.add('x', { stores: ['sx'], env: { GATER_CLUSTER_SECRET: NEW, GATER_CLUSTER_SECRET_PREVIOUS: OLD } });
  const y = cluster.add('y', { stores: ['sy'], env: { GATER_CLUSTER_SECRET: OLD, GATER_CLUSTER_SECRET_PREVIOUS: NEW } });
  const z = cluster.add('z', { stores: ['sz'], env: { GATER_CLUSTER_SECRET: NEW } });

  before(() => cluster.startAll());
  after(() => cluster.close());

  it('[new, old] sees and connects to a node still sending old and to a node on [new], both ways', async () => {
    await seesAliveAndConnected(x, [y, z]);
    await seesAliveAndConnected(y, [x]);
    await seesAliveAndConnected(z, [x]);
    // y and z are never neighbours in the procedure (z cannot read y's beacons), so nothing is asserted of them.
  });

  it('calls relay across the rotation in both directions', async () => {
    const storesOf = async (node: GaterProcess): Promise<string[]> =>
      (await clusterView(node)).registry.entries.map((e) => e.store);
    await waitFor('x to see sy and sz', async () => {
      const stores = await storesOf(x);
      return stores.includes('sy') && stores.includes('sz');
    });
    await waitFor('y and z to see sx', async () => (await storesOf(y)).includes('sx') && (await storesOf(z)).includes('sx'));
    await appendThrough(x, 'sy', 'rotation');
    await appendThrough(x, 'sz', 'rotation');
    await appendThrough(y, 'sx', 'rotation');
    await appendThrough(z, 'sx', 'rotation');
    const read = await x.json<{ events: unknown[] }>('/v1/stores/sx/streams/rotation/events');
    assert.equal(read.body.events.length, 2);
  });
});
