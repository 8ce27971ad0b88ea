/**
 * Only a host holding a secret of the cluster completes a connection. Each case asserts that the dial itself rejects,
 * in both directions, and that afterwards neither side holds a connection; a node with the right secret dialing the
 * same addresses is the control that shows the addresses were good.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import type { ConnectionProtector } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GaterError } from '../../src/errors/index.ts';
import {
  KeyringProtector,
  deriveClusterKeys,
  deriveSwarmKey,
  type ClusterSecrets,
  type Mesh,
} from '../../src/mesh/index.ts';
import { CLUSTER, SECRET_NEW, SECRET_OLD, SUITE_TIMEOUT_MS, makeMesh, sleep, waitFor } from './support.ts';

const OURS: ClusterSecrets = { primary: SECRET_OLD, previous: [] };
const THEIRS: ClusterSecrets = { primary: SECRET_NEW, previous: [] };

/** Long enough for a connection that the dialer gave up on to have shown up on the listener if it ever would. */
const SETTLE_MS = 300;

function isUnavailable(err: unknown): boolean {
  return err instanceof GaterError && err.code === 'unavailable';
}

describe('the private network', { timeout: SUITE_TIMEOUT_MS }, () => {
  const meshes: Mesh[] = [];
  const nodes: Libp2p[] = [];
  after(() => Promise.all([...meshes.map((m) => m.stop()), ...nodes.map((n) => n.stop())]), { timeout: 10_000 });

  async function started(secrets: ClusterSecrets, clusterName = CLUSTER): Promise<Mesh> {
    const mesh = await makeMesh(secrets, { clusterName });
    meshes.push(mesh);
    await mesh.start();
    return mesh;
  }

  /** A bare libp2p node on 127.0.0.1: tcp, noise, yamux, and the protector given (none by default). */
  async function bareNode(protector?: () => ConnectionProtector): Promise<Libp2p> {
    const node = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      ...(protector === undefined ? {} : { connectionProtector: protector }),
      services: { identify: identify() },
    });
    nodes.push(node);
    return node;
  }

  /** Neither mesh holds a connection to the other, and none opened meanwhile. */
  async function assertApart(a: Mesh, b: Mesh, events: string[]): Promise<void> {
    await sleep(SETTLE_MS);
    assert.equal(a.isConnected(b.peerId), false);
    assert.equal(b.isConnected(a.peerId), false);
    assert.deepEqual(a.connections(), []);
    assert.deepEqual(b.connections(), []);
    assert.deepEqual(events, []);
  }

  function recordConnections(...ms: Mesh[]): string[] {
    const events: string[] = [];
    for (const m of ms) m.on('peer:connected', (peer) => events.push(`${m.peerId} <- ${peer}`));
    return events;
  }

  it('refuses a mesh holding another secret, whichever side dials', async () => {
    const ours = await started(OURS);
    const theirs = await started(THEIRS);
    const events = recordConnections(ours, theirs);
    await assert.rejects(ours.dial(theirs.peerId, theirs.addrs()), isUnavailable);
    await assert.rejects(theirs.dial(ours.peerId, ours.addrs()), isUnavailable);
    await assertApart(ours, theirs, events);
    // Each listener counted the other's dial as a refusal, for what it is.
    await waitFor('refusals counted', () => ours.stats().inboundRefused.no_shared_key >= 1);
    assert.ok(theirs.stats().inboundRefused.no_shared_key >= 1);
    assert.equal(ours.stats().inboundRefused.per_host, 0);
    // Wanting each other (the redial loop) changes nothing.
    ours.connect(theirs.peerId, theirs.addrs());
    theirs.connect(ours.peerId, ours.addrs());
    await assertApart(ours, theirs, events);
    // Control: the same addresses accept a mesh with the right secret.
    const friend = await started(THEIRS);
    await friend.dial(theirs.peerId, theirs.addrs());
    await waitFor('friend connected', () => theirs.isConnected(friend.peerId));
  });

  it('refuses a mesh holding the same secret for another cluster name', async () => {
    const ours = await started(OURS);
    const other = await started(OURS, `${CLUSTER}-other`);
    const events = recordConnections(ours, other);
    await assert.rejects(ours.dial(other.peerId, other.addrs()), isUnavailable);
    await assert.rejects(other.dial(ours.peerId, ours.addrs()), isUnavailable);
    await assertApart(ours, other, events);
  });

  it('refuses a plain libp2p node without the private network, whichever side dials', async () => {
    const mesh = await started(OURS);
    const plain = await bareNode();
    const events = recordConnections(mesh);
    await assert.rejects(plain.dial(mesh.addrs().map((a) => multiaddr(a))));
    await assert.rejects(mesh.dial(plain.peerId.toString(), plain.getMultiaddrs().map(String)), isUnavailable);
    await sleep(SETTLE_MS);
    assert.deepEqual(mesh.connections(), []);
    // The plain node speaks multistream-select where the preamble belongs.
    assert.equal(mesh.stats().inboundRefused.no_preamble, 1);
    assert.equal(mesh.stats().inboundUpgrading, 0, 'the refused connection no longer holds an upgrade slot');
    assert.equal(plain.getConnections().length, 0);
    assert.deepEqual(events, []);
  });

  it('refuses a node that replays a valid key id without holding the key', async () => {
    const mesh = await started(OURS);
    const [real] = deriveClusterKeys(OURS, CLUSTER);
    // The id of our key (observable on the wire), with a key derived from a secret the node does not hold.
    const forged = { ...real!, swarmKey: deriveSwarmKey('a guess at the cluster secret', CLUSTER) };
    const impostor = await bareNode(() => new KeyringProtector({ keys: [forged] }));
    const events = recordConnections(mesh);
    await assert.rejects(impostor.dial(mesh.addrs().map((a) => multiaddr(a))));
    await assert.rejects(mesh.dial(impostor.peerId.toString(), impostor.getMultiaddrs().map(String)), isUnavailable);
    await sleep(SETTLE_MS);
    assert.deepEqual(mesh.connections(), []);
    assert.equal(impostor.getConnections().length, 0);
    assert.deepEqual(events, []);
    // Control: the same bare node with the real key gets in.
    const member = await bareNode(() => new KeyringProtector({ keys: [real!] }));
    await member.dial(mesh.addrs().map((a) => multiaddr(a)));
    await waitFor('member connected', () => mesh.isConnected(member.peerId.toString()));
  });

  it('keeps a node without any secret apart from the private network, yet lets two such nodes connect', async () => {
    const mesh = await started(OURS);
    const open1 = await started({ previous: [] });
    const open2 = await started({ previous: [] });
    assert.equal(open1.isPrivate, false);
    const events = recordConnections(mesh, open1);
    await assert.rejects(open1.dial(mesh.peerId, mesh.addrs()), isUnavailable);
    await assert.rejects(mesh.dial(open1.peerId, open1.addrs()), isUnavailable);
    await assertApart(mesh, open1, events);
    await open2.dial(open1.peerId, open1.addrs());
    await waitFor('open nodes connected', () => open1.isConnected(open2.peerId));
  });
});
