/**
 * Secret rotation (src/mesh/README.md, "Rotating the cluster secret"): two nodes connect if and only if their keyrings
 * share a secret, so a cluster rolled through the three steps [old] → [old, new] → [new, old] → [new], one node at a
 * time, never splits (nor would the shorter [old] → [new, old] → [new], which the mesh alone would allow).
 */
import type { PrivateKey } from '@libp2p/interface';
import { generateKeyPair } from '@libp2p/crypto/keys';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GaterError } from '../../src/errors/index.ts';
import type { ClusterSecrets, Mesh } from '../../src/mesh/index.ts';
import {
  SECRET_NEW,
  SECRET_OLD,
  SUITE_TIMEOUT_MS,
  connectAll,
  isConnectedPair,
  makeMesh,
  nextEvent,
  waitFor,
} from './support.ts';

const OLD: ClusterSecrets = { primary: SECRET_OLD, previous: [] };
const OLD_NEW: ClusterSecrets = { primary: SECRET_OLD, previous: [SECRET_NEW] };
const NEW_OLD: ClusterSecrets = { primary: SECRET_NEW, previous: [SECRET_OLD] };
const NEW: ClusterSecrets = { primary: SECRET_NEW, previous: [] };
const TOPIC = 'mesh-test/rotation';

describe('rotating the cluster secret', { timeout: SUITE_TIMEOUT_MS }, () => {
  const all: Mesh[] = [];
  after(() => Promise.all(all.map((m) => m.stop())), { timeout: 10_000 });

  async function started(secrets: ClusterSecrets, privateKey?: PrivateKey): Promise<Mesh> {
    const mesh = await makeMesh(secrets, privateKey === undefined ? {} : { privateKey });
    all.push(mesh);
    // Subscribed for its whole life: leaving and rejoining the topic between rounds would race with the publishes.
    mesh.subscribe(TOPIC, (data, from) => heard.add(`${mesh.peerId} heard ${from} say ${Buffer.from(data).toString()}`));
    await mesh.start();
    return mesh;
  }

  /** `a` dials `b`, then `b` dials `a`; true when both dials connect, false when both are refused. */
  async function connectsBothWays(a: Mesh, b: Mesh): Promise<boolean> {
    const results: boolean[] = [];
    for (const [from, to] of [[a, b], [b, a]] as const) {
      try {
        await from.dial(to.peerId, to.addrs());
        await waitFor('both sides connected', () => isConnectedPair(from, to));
        const gone = nextEvent(to, 'peer:disconnected');
        await from.hangUp(to.peerId);
        await gone;
        results.push(true);
      } catch (err) {
        if (!(err instanceof GaterError && err.code === 'unavailable')) throw err;
        assert.equal(from.isConnected(to.peerId) || to.isConnected(from.peerId), false);
        results.push(false);
      }
    }
    assert.equal(results[0], results[1], 'the outcome does not depend on which side dials');
    return results[0]!;
  }

  it('connects [old] with [new, old] and [new, old] with [new], never [old] with [new]', async () => {
    const old = await started(OLD);
    const both = await started(NEW_OLD);
    const fresh = await started(NEW);
    assert.equal(await connectsBothWays(old, both), true);
    assert.equal(await connectsBothWays(both, fresh), true);
    assert.equal(await connectsBothWays(old, fresh), false);
    // The order of the previous secrets does not matter, nor does which one is primary.
    const reversed = await started(OLD_NEW);
    assert.equal(await connectsBothWays(reversed, fresh), true);
    assert.equal(await connectsBothWays(reversed, both), true);
  });

  it('keeps a three-node cluster whole, gossip included, through the three rolling steps', async () => {
    const keys = await Promise.all([0, 1, 2].map(() => generateKeyPair('Ed25519')));
    const cluster = await Promise.all(keys.map((key) => started(OLD, key)));
    connectAll(cluster);
    await assertWhole(cluster, 'all on [old]');
    // Each node in turn restarts with the new keyring; discovery tells the others its new address.
    const steps = [['[old, new]', OLD_NEW], ['[new, old]', NEW_OLD], ['[new]', NEW]] as const;
    for (const [step, secrets] of steps) {
      for (let i = 0; i < cluster.length; i++) {
        await cluster[i]!.stop();
        cluster[i] = await started(secrets, keys[i]!);
        connectAll(cluster);
        await assertWhole(cluster, `node ${i} moved to ${step}`);
      }
    }
  });
});

/** Every gossip message delivered in this file, as "<receiver> heard <author> say <text>". */
const heard = new Set<string>();
let round = 0;

/** Every pair connected, and a message from each node reaches every other. */
async function assertWhole(cluster: readonly Mesh[], stage: string): Promise<void> {
  const whole = (): boolean => cluster.every((a) => cluster.every((b) => a === b || isConnectedPair(a, b)));
  await waitFor(`every pair connected (${stage})`, whole);
  round += 1;
  const text = `round ${round}`;
  const subscribed = (): boolean => cluster.every((m) => m.topicPeers(TOPIC).length === cluster.length - 1);
  await waitFor(`subscriptions known (${stage})`, subscribed);
  for (const m of cluster) await m.publish(TOPIC, Buffer.from(text));
  const expected = cluster.flatMap((m) =>
    cluster.filter((o) => o !== m).map((o) => `${m.peerId} heard ${o.peerId} say ${text}`),
  );
  await waitFor(`gossip from every node at every node (${stage})`, () => expected.every((line) => heard.has(line)));
}
