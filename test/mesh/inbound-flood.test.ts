/**
 * An outsider without the secret must not lock members out of a node's mesh by opening connections and sending
 * nothing (src/mesh/README.md, "Inbound connections from strangers"). Real meshes and real sockets on 127.0.0.1; the
 * outsider's sockets come from another loopback address (127.0.0.2), as an attacker on another host would, so the
 * node can tell it from the members (all on 127.0.0.1).
 *
 * Without the defence, 160 idle sockets from one address filled the node's 128 upgrade slots for the 5 s upgrade
 * timeout each, and every member's dial was refused within milliseconds for as long as the flood lasted. With only
 * the offer's deadline and the per-host rate, sockets that replay a key id (past key selection, held until the 5 s
 * timeout) still did. The limits must not cost members anything either: many members of one address upgrading at
 * once are all admitted, and a stall of the node's process does not drop an offer that arrived during it.
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
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  KEY_SELECTION_OFFER_TIMEOUT_MS,
  KeyringProtector,
  MAX_INCOMING_PENDING_CONNECTIONS,
  deriveClusterKeys,
  type ClusterSecrets,
  type Mesh,
} from '../../src/mesh/index.ts';
import { IdleFlood } from './idle-flood.ts';
import { CLUSTER, SECRET_OLD, SUITE_TIMEOUT_MS, makeMesh, sleep, waitFor } from './support.ts';

const SECRETS: ClusterSecrets = { primary: SECRET_OLD, previous: [] };
/** The outsider's address: loopback, but not the members' 127.0.0.1. */
const OUTSIDER = '127.0.0.2';
/** More idle sockets than the node has upgrade slots. */
const FLOOD_SOCKETS = MAX_INCOMING_PENDING_CONNECTIONS + 32;
/** How long the flood runs before members dial: past one second, so it has had a second per-host allowance. */
const FLOOD_SETTLE_MS = 1_200;
/** Members of one host dialing one node at once: more nodes than any single-host cluster run here (16). */
const BURST_MEMBERS = 24;

function portOf(mesh: Mesh): number {
  const port = multiaddr(mesh.addrs()[0]!).getComponents().find((c) => c.name === 'tcp')?.value;
  assert.ok(port !== undefined, 'the mesh listens on a TCP port');
  return Number(port);
}

/** The key-selection offer a member holding `secrets` sends as its connection opens. */
function offerOf(secrets: ClusterSecrets): Buffer {
  const keys = deriveClusterKeys(secrets, CLUSTER);
  return Buffer.concat([Buffer.from('gpk1'), Buffer.of(keys.length), ...keys.map((k) => k.idBytes)]);
}

/** Blocks the whole process for `ms`, as a long collection or a long synchronous task would. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

function assertAllConnected(dials: readonly string[]): void {
  assert.deepEqual(
    dials.filter((d) => !d.startsWith('ok')),
    [],
    `every dial during the flood connects (${dials.join('; ')})`,
  );
}

/** Resolves when `socket` closes, with how long after `since` it did. */
function closedAfter(socket: Socket, since: number): Promise<number> {
  return new Promise((resolve) => socket.once('close', () => resolve(Date.now() - since)));
}

describe('a flood of idle connections from one host', { timeout: SUITE_TIMEOUT_MS }, () => {
  const meshes: Mesh[] = [];
  const nodes: Libp2p[] = [];
  const sockets: Socket[] = [];
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all([...meshes.map((m) => m.stop()), ...nodes.map((n) => n.stop())]);
  }, { timeout: 20_000 });

  async function started(): Promise<Mesh> {
    const mesh = await makeMesh(SECRETS);
    meshes.push(mesh);
    await mesh.start();
    return mesh;
  }

  /**
   * A bare libp2p node holding the cluster key, a member as the node's inbound path sees one. Its connections wait
   * for `gate` before key selection, after telling `onConnected`.
   */
  async function member(gate: Promise<void>, onConnected: () => void): Promise<Libp2p> {
    const keys = deriveClusterKeys(SECRETS, CLUSTER);
    const protector = (): ConnectionProtector => {
      const inner = new KeyringProtector({ keys });
      return {
        async protect(connection, options) {
          onConnected();
          await gate;
          return inner.protect(connection, options);
        },
      };
    };
    const node = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionProtector: protector,
      services: { identify: identify() },
    });
    nodes.push(node);
    return node;
  }

  function rawSocket(port: number, from: string): Socket {
    const socket = connect({ host: '127.0.0.1', port, localAddress: from });
    socket.on('error', () => {});
    sockets.push(socket);
    return socket;
  }

  it(`drops a connection that sends no key-selection offer within ${KEY_SELECTION_OFFER_TIMEOUT_MS} ms`, async () => {
    const node = await started();
    const socket = rawSocket(portOf(node), OUTSIDER);
    await new Promise((resolve) => socket.once('connect', resolve));
    const lived = await closedAfter(socket, Date.now());
    // Not the 5 s upgrade timeout: an idle connection holds a slot for the offer's deadline only.
    assert.ok(lived >= KEY_SELECTION_OFFER_TIMEOUT_MS - 50, `closed after ${lived} ms, before the deadline`);
    assert.ok(lived < KEY_SELECTION_OFFER_TIMEOUT_MS + 1_000, `closed after ${lived} ms`);
    await waitFor('counted', () => node.stats().inboundRefused.offer_timeout === 1);
    assert.equal(node.stats().inboundUpgrading, 0);
  });

  /**
   * Floods `node` from the outsider's address and, once the flood is steady, has `peer` dial it five times, 300 ms
   * apart (together longer than the offer deadline, so slots the flood frees and retakes are covered). Answers how
   * each dial went.
   */
  async function dialsDuringFlood(node: Mesh, peer: Mesh, flood: IdleFlood): Promise<string[]> {
    const hangUp = async (): Promise<void> => {
      await peer.hangUp(node.peerId);
      await waitFor('hung up', () => !node.isConnected(peer.peerId) && !peer.isConnected(node.peerId));
    };
    // Control: the dial works before the flood.
    await peer.dial(node.peerId, node.addrs());
    await hangUp();
    flood.start();
    const dials: string[] = [];
    try {
      await waitFor('the flood opened its sockets', () => flood.connects >= FLOOD_SOCKETS);
      // Past a second, so the flood has had a fresh per-host allowance of connections too.
      await sleep(FLOOD_SETTLE_MS);
      for (let i = 0; i < 5; i++) {
        const startedAt = Date.now();
        try {
          await peer.dial(node.peerId, node.addrs());
          dials.push(`ok in ${Date.now() - startedAt} ms`);
        } catch (err) {
          dials.push(`failed in ${Date.now() - startedAt} ms: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (peer.isConnected(node.peerId)) await hangUp();
        await sleep(300);
      }
    } finally {
      await flood.stop();
    }
    assert.ok(flood.connects >= FLOOD_SOCKETS, `the flood opened ${flood.connects} connections`);
    // After the flood, the node is as it was.
    await peer.dial(node.peerId, node.addrs());
    return dials;
  }

  function floodOf(node: Mesh, greeting?: Uint8Array): IdleFlood {
    return new IdleFlood({
      host: '127.0.0.1',
      port: portOf(node),
      from: OUTSIDER,
      sockets: FLOOD_SOCKETS,
      reopenDelayMs: 250,
      maxConnects: 3_000,
      ...(greeting === undefined ? {} : { greeting }),
    });
  }

  it('lets a member connect while another host holds more idle connections than the node has slots', async () => {
    const node = await started();
    const peer = await started();
    const flood = floodOf(node);
    const dials = await dialsDuringFlood(node, peer, flood);
    assertAllConnected(dials);
    const refused = node.stats().inboundRefused;
    assert.ok(refused.per_host > 0, `the flood's connections beyond its address's share were refused (${JSON.stringify(refused)})`);
    assert.ok(refused.offer_timeout > 0, 'and those admitted timed out at key selection');
    const longest = flood.longestLivedMs();
    assert.ok(longest < KEY_SELECTION_OFFER_TIMEOUT_MS + 1_000, `an idle connection lived ${longest} ms`);
  });

  it('lets a member connect while another host holds connections past key selection with a replayed key id', async () => {
    const node = await started();
    const peer = await started();
    // Key ids cross the wire in clear: replayed, one gets a connection past key selection, where it then waits in
    // pnet and noise until libp2p's 5 s upgrade timeout, well past the offer deadline.
    const dials = await dialsDuringFlood(node, peer, floodOf(node, offerOf(SECRETS)));
    assertAllConnected(dials);
  });

  it(`admits ${BURST_MEMBERS} members of one host dialing at once, each on its only attempt`, async () => {
    const node = await started();
    // Members in one process share its CPU, and their upgrades (noise above all) would go a few at a time. Holding
    // every connection at key selection until all have connected makes all of them upgrade at once, as the nodes of
    // a host starting together would.
    let connected = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const members = await Promise.all(Array.from({ length: BURST_MEMBERS }, () => member(gate, () => connected++)));
    const addrs = node.addrs().map((a) => multiaddr(a));
    const dialing = members.map((m) => m.dial(addrs, { signal: AbortSignal.timeout(10_000) }));
    await waitFor('every member connected over TCP', () => connected === BURST_MEMBERS);
    await sleep(20); // the node has taken them all in
    open();
    const results = await Promise.allSettled(dialing);
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`member ${i}: ${String(r.reason)}`] : []));
    assert.deepEqual(failed, []);
    await waitFor('every member connected', () => node.connectedPeers().length === BURST_MEMBERS);
  });

  it('keeps a member whose offer arrived while the node was stalled past the deadline', async () => {
    const node = await started();
    const socket = rawSocket(portOf(node), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    await sleep(100); // the node is waiting for the offer
    const [key] = deriveClusterKeys(SECRETS, CLUSTER);
    const answer = new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got.byteLength >= 12) resolve(got.subarray(0, 12));
      });
      socket.once('close', () => reject(new Error('the node closed the connection')));
    });
    // The offer is sent, then the whole process stalls past the deadline with the offer unread; both in the check
    // phase, so that the next turn of the loop runs the expired deadline's timer before it reads sockets.
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        socket.write(offerOf(SECRETS));
        stall(2 * KEY_SELECTION_OFFER_TIMEOUT_MS);
        resolve();
      }),
    );
    assert.deepEqual(await answer, Buffer.concat([Buffer.from('gpk1'), key!.idBytes]));
  });
});
