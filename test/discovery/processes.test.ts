/**
 * Discovery across real processes on 127.0.0.1: each node is test/fixtures/discovery-node.ts in its own process.
 * Windows are short (interval 100 ms) so that failure detection fits a test; the benchmark measures the defaults.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GossipDiscovery, type DiscoveryStats, type PeerInfo } from '../../src/discovery/index.ts';
import { NodeProcess, killAll } from './support/node-process.ts';
import { freeUdpPort, randomGroup, randomPort, sleep, waitFor as waitUntil } from './support/udp.ts';

const OLD = 'process-test-old-secret-0123456789';
const NEW = 'process-test-new-secret-9876543210';
const TIMING = { intervalMs: 100, suspectAfterMs: 400, deadAfterMs: 800 };
/** For a test that asserts nobody is suspected: ten intervals of slack, for a loaded machine. */
const STEADY = { intervalMs: 100, suspectAfterMs: 1_000, deadAfterMs: 2_000 };

after(killAll);

function multicastNode(
  name: string,
  shared: { port: number; group: string },
  extra: Record<string, unknown> = {},
): NodeProcess {
  return new NodeProcess(name, {
    clusterName: 'processes',
    nodeId: name,
    incarnation: Date.now(),
    secrets: { primary: OLD },
    advertise: { addrs: [`/ip4/127.0.0.1/tcp/4${name.slice(-1)}000`], roles: ['store'], stores: ['default'] },
    ...shared,
    ...TIMING,
    ...extra,
  });
}

/** Asks `node` for its stats until `check` holds; fails after `timeoutMs`. */
async function statsUntil(
  node: NodeProcess,
  what: string,
  check: (s: DiscoveryStats) => boolean,
  timeoutMs = 5_000,
): Promise<DiscoveryStats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await node.stats();
    if (check(stats)) return stats;
    if (Date.now() > deadline) assert.fail(`${node.name}: ${what}; last stats ${JSON.stringify(stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function seesExactly(node: NodeProcess, others: string[]): boolean {
  return JSON.stringify(node.alivePeers()) === JSON.stringify([...others].sort());
}

describe('discovery across processes', () => {
  it('three nodes meet by loopback multicast; a fourth with another secret sees none and is seen by none', async () => {
    const shared = { port: randomPort(), group: randomGroup() };
    const nodes = ['n1', 'n2', 'n3'].map((name) => multicastNode(name, shared));
    const stranger = multicastNode('n4', shared, { secrets: { primary: NEW } });
    await Promise.all([...nodes, stranger].map((n) => n.ready()));
    for (const node of nodes) {
      const others = nodes.filter((n) => n !== node).map((n) => n.name);
      await node.waitFor(`${node.name} to see ${others}`, () => seesExactly(node, others));
    }
    const n1 = nodes[0] as NodeProcess;
    const peer = n1.peers().find((p) => p.nodeId === 'n2');
    assert.deepEqual(
      [peer?.name, peer?.addrs, peer?.roles, peer?.stores],
      ['n2', ['/ip4/127.0.0.1/tcp/42000'], ['store'], ['default']],
    );
    assert.match(peer?.endpoint ?? '', /^127\.0\.0\.1:\d+$/);

    // Proof that the packets did cross, and were refused: every node counts bad_auth drops of the other side's.
    for (const node of [...nodes, stranger]) {
      await statsUntil(node, 'refuse packets of the other secret', (s) => s.dropped.bad_auth >= 3);
    }
    assert.deepEqual(stranger.peers(), []);
    for (const node of nodes) assert.ok(!node.peers().some((p) => p.nodeId === 'n4'), `${node.name} never saw n4`);
  });

  it('a node killed with SIGKILL goes suspect, then dead; restarted, it comes back with a higher incarnation', async () => {
    const shared = { port: randomPort(), group: randomGroup() };
    const [a, b, victim] = ['k1', 'k2', 'k3'].map((name) => multicastNode(name, shared)) as [
      NodeProcess,
      NodeProcess,
      NodeProcess,
    ];
    const survivors = [a, b];
    await Promise.all(survivors.map((n) => n.waitFor('all peers', () => n.alivePeers().length === 2)));
    const firstIncarnation = a.peers().find((p) => p.nodeId === 'k3')?.incarnation ?? 0;
    victim.kill('SIGKILL');
    await victim.exited;
    for (const node of survivors) {
      const dead = await node.waitFor('k3 dead', () =>
        node.lines.find((l) => l.event === 'peer:down' && l.peer?.nodeId === 'k3'),
      );
      const suspect = node.lines.find((l) => l.peer?.nodeId === 'k3' && l.peer.state === 'suspect');
      assert.ok(suspect !== undefined && suspect.at <= dead.at, `${node.name} suspected k3 before declaring it dead`);
      const lastSeen = Date.parse(dead.peer?.lastSeen ?? '');
      // Never early: each state no sooner than its window after the last packet (a few ms for clock reads).
      assert.ok(suspect.at - lastSeen >= TIMING.suspectAfterMs - 5, `suspect after ${suspect.at - lastSeen} ms`);
      assert.ok(dead.at - lastSeen >= TIMING.deadAfterMs - 5, `dead after ${dead.at - lastSeen} ms`);
      assert.equal(dead.peer?.state, 'dead');
    }
    const reborn = multicastNode('k3', shared);
    await reborn.ready();
    for (const node of survivors) {
      const up = await node.waitFor('k3 back', () =>
        node.lines.findLast(
          (l) => l.event === 'peer:up' && l.peer?.nodeId === 'k3' && l.peer.incarnation > firstIncarnation,
        ),
      );
      assert.equal(up.peer?.state, 'alive');
    }
    await reborn.waitFor('k3 to see both', () => reborn.alivePeers().length === 2);
  });

  it('a node whose own event loop stalls past the dead window does not declare its live peers dead', async () => {
    const shared = { port: randomPort(), group: randomGroup() };
    const peer = multicastNode('s2', shared);
    const observer = new GossipDiscovery(
      {},
      { clusterName: 'processes', nodeId: 's1', incarnation: Date.now(), secrets: { primary: OLD }, ...shared, ...TIMING },
    );
    const downs: string[] = [];
    observer.on('peer:down', (p: PeerInfo) => downs.push(p.nodeId));
    await observer.start();
    try {
      await peer.ready();
      await waitUntil('s1 to see s2', () => observer.peers().some((p) => p.nodeId === 's2' && p.state === 'alive'));
      // Blocked for 2.5 dead windows while s2 keeps beaconing into the socket. Blocked in the check phase, so that the
      // loop's next turn starts with the timers, due long ago, before it reads the socket (as after a long GC pause).
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          const blockedUntil = Date.now() + 2.5 * TIMING.deadAfterMs;
          while (Date.now() < blockedUntil);
          resolve();
        }),
      );
      await sleep(3 * TIMING.intervalMs);
      assert.deepEqual([...downs], [], 's2 was declared dead for a silence that was the observer\'s own');
      assert.ok(observer.peers().some((p) => p.nodeId === 's2' && p.state === 'alive'), 's2 alive after the stall');
      // Still a failure detector: s2 really gone is declared dead.
      peer.kill('SIGKILL');
      await peer.exited;
      await waitUntil('s2 dead', () => downs.includes('s2'));
    } finally {
      await observer.stop();
    }
  });

  it('rotation: [new, old] talks to [old, +new] and to [new]; [old] alone only reads [old]', async () => {
    const shared = { port: randomPort(), group: randomGroup() };
    const keyrings: Record<string, { primary: string; previous?: string[] }> = {
      x: { primary: NEW, previous: [OLD] },
      y: { primary: OLD, previous: [NEW] },
      z: { primary: NEW },
      w: { primary: OLD },
    };
    const nodes = Object.fromEntries(
      Object.entries(keyrings).map(([name, secrets]) => [name, multicastNode(name, shared, { secrets })]),
    ) as Record<string, NodeProcess>;
    // A sees B exactly when A accepts the secret B sends with (its primary).
    const expected: Record<string, string[]> = { x: ['w', 'y', 'z'], y: ['w', 'x', 'z'], z: ['x'], w: ['y'] };
    for (const [name, sees] of Object.entries(expected)) {
      const node = nodes[name] as NodeProcess;
      await node.waitFor(`${name} to see ${sees}`, () => seesExactly(node, sees));
    }
    // Let several more rounds pass, with packets refused, and check that no one saw more than it should.
    for (const [name, node] of Object.entries(nodes)) {
      const start = await node.stats();
      // Those that cannot read everyone keep refusing packets meanwhile, which proves they do reach them.
      const refuses = (expected[name] ?? []).length < 3;
      await statsUntil(
        node,
        'more rounds',
        (s) => s.beaconsReceived >= start.beaconsReceived + 6 && (!refuses || s.dropped.bad_auth > start.dropped.bad_auth),
      );
    }
    for (const [name, sees] of Object.entries(expected)) {
      assert.deepEqual((nodes[name] as NodeProcess).peers().map((p) => p.nodeId).sort(), sees, `${name}'s table`);
    }
  });

  it('unicast seeds alone (no multicast) form the same cluster, even when nodes share only one seed', async () => {
    const ports = await Promise.all([freeUdpPort(), freeUdpPort(), freeUdpPort(), freeUdpPort()]);
    const hub = `127.0.0.1:${ports[0]}`;
    const names = ['s1', 's2', 's3', 's4'];
    const nodes = names.map(
      (name, i) =>
        new NodeProcess(name, {
          clusterName: 'seeds',
          nodeId: name,
          incarnation: Date.now(),
          secrets: { primary: OLD },
          multicast: false,
          port: ports[i],
          // A star: everyone knows only s1; the others find each other through its hints.
          seeds: i === 0 ? [] : [hub],
          ...STEADY,
        }),
    );
    for (const node of nodes) {
      const others = names.filter((n) => n !== node.name);
      await node.waitFor(`${node.name} to see ${others}`, () => seesExactly(node, others));
    }
    // And it holds: nobody goes suspect over more than two windows, so beacons flow both ways between every pair.
    const marks = nodes.map((n) => n.lines.length);
    await new Promise((resolve) => setTimeout(resolve, 2.5 * STEADY.suspectAfterMs));
    nodes.forEach((node, i) => {
      const changes = node.lines.slice(marks[i]).filter((l) => l.type === 'peers');
      assert.deepEqual(changes.map((l) => `${l.event} ${l.peer?.nodeId}`), [], `${node.name} saw no change`);
    });
  });
});
