/**
 * Three real node processes on loopback form a cluster, replicate the registry, relay calls, and purge a killed node.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Keyring } from '../../src/discovery/keyring.ts';
import { PacketCodec } from '../../src/discovery/packet-codec.ts';
import { MESSAGE_KIND } from '../../src/discovery/wire-format.ts';
import { samplePayload } from '../discovery/support/payloads.ts';
import { rawSocket } from '../discovery/support/udp.ts';
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

  it('drops sealed gossip from a sender whose node id is no peer id, and lives on', async () => {
    // A holder of the secret (or, without one, any local process) gossips as 'not-a-peer-id', then leaves. Before,
    // the leave reached the mesh, whose rejection went unhandled and ended the node.
    const codec = new PacketCodec(cluster.identity.name, new Keyring(cluster.identity.name, { primary: cluster.identity.secret }));
    const sender = await rawSocket();
    try {
      for (const [kind, sequence] of [[MESSAGE_KIND.beacon, 1], [MESSAGE_KIND.leave, 2]] as const) {
        const payload = samplePayload({ clusterName: cluster.identity.name, nodeId: 'not-a-peer-id', sequence });
        // Nodes share the port (multicast); each datagram reaches one of them: send one per node.
        for (let n = 0; n < 3; n++) await sender.send(codec.seal(kind, { ...payload, sequence: sequence * 10 + n }).datagram, cluster.identity.gossipPort);
      }
    } finally {
      await sender.close();
    }
    const malformed = async () => {
      let total = 0;
      for (const node of [a, b, c]) {
        const text = await (await fetch(`${node.url}/metrics`)).text();
        total += Number(/gater_gossip_dropped_total\{reason="malformed"\} (\d+)/.exec(text)?.[1] ?? 0);
      }
      return total;
    };
    await waitFor('the packets to be dropped as malformed', async () => (await malformed()) >= 2);
    await new Promise((r) => setTimeout(r, 500));
    for (const node of [a, b, c]) {
      assert.equal(node.running, true, `${node.name} runs`);
      const { status, body } = await node.json<{ peers: { nodeId: string }[] }>('/v1/cluster');
      assert.equal(status, 200);
      assert.ok(!body.peers.some((p) => p.nodeId === 'not-a-peer-id'));
    }
  });

  it("counts a stranger's mesh connection as refused, by reason, in /metrics", async () => {
    const metric = async (series: string) =>
      Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(await (await fetch(`${a.url}/metrics`)).text())?.[1]);
    const { body } = await a.json<{ mesh: { addrs: string[] } }>('/v1/cluster');
    const port = Number(/\/tcp\/(\d+)/.exec(body.mesh.addrs[0]!)?.[1]);
    assert.ok(port > 0, `a's mesh address: ${body.mesh.addrs[0]}`);
    const refused = 'gater_mesh_inbound_refused_total{reason="no_preamble"}';
    const before = await metric(refused);
    assert.ok(Number.isFinite(before), 'the series is exported before any refusal');
    // Not the key-selection preamble: what a web client, a scanner or another protocol's peer would send.
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    await waitFor('the refusal counted', async () => (await metric(refused)) === before + 1);
    assert.equal(await metric('gater_mesh_inbound_upgrading'), 0);
    assert.equal(await metric('gater_registry_records_held'), 0);
    assert.equal(await metric('gater_registry_unconfirmed_dropped_total'), 0);
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
