import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Keyring, deriveGossipKey, type GossipSecrets } from '../../src/discovery/keyring.ts';
import { PacketCodec } from '../../src/discovery/packet-codec.ts';
import { MESSAGE_KIND } from '../../src/discovery/wire-format.ts';
import { samplePayload } from './support/payloads.ts';

const A = 'secret-A-0123456789abcdef';
const B = 'secret-B-0123456789abcdef';
const CLUSTER = 'test-cluster';

function codec(secrets: GossipSecrets, clusterName = CLUSTER): PacketCodec {
  return new PacketCodec(clusterName, new Keyring(clusterName, secrets));
}

/** Whether a node with keyring `to` accepts what a node with keyring `from` sends. */
function reads(to: GossipSecrets, from: GossipSecrets): boolean {
  const { datagram } = codec(from).seal(MESSAGE_KIND.beacon, samplePayload());
  const opened = codec(to).open(datagram);
  if (!opened.ok) assert.equal(opened.reason, 'bad_auth');
  return opened.ok;
}

describe('keyring', () => {
  it('derives the same key for the same secret and cluster, and unrelated ones otherwise', () => {
    const k = deriveGossipKey(CLUSTER, A);
    assert.deepEqual(deriveGossipKey(CLUSTER, A), k);
    assert.equal(k.key.length, 32);
    assert.equal(k.id.length, 4);
    for (const other of [deriveGossipKey(CLUSTER, B), deriveGossipKey('other', A), deriveGossipKey(CLUSTER, undefined)]) {
      assert.notDeepEqual(other.key, k.key);
      assert.notEqual(other.idHex, k.idHex);
    }
    assert.ok(!k.key.includes(Buffer.from(A)), 'the key is not the secret');
  });

  it('sends with the primary key and accepts the previous ones', () => {
    const ring = new Keyring(CLUSTER, { primary: B, previous: [A] });
    assert.equal(ring.primary.idHex, deriveGossipKey(CLUSTER, B).idHex);
    assert.deepEqual(ring.keyIds(), [deriveGossipKey(CLUSTER, B).idHex, deriveGossipKey(CLUSTER, A).idHex]);
    assert.equal(ring.keysWithId(deriveGossipKey(CLUSTER, A).id).length, 1);
    assert.equal(ring.keysWithId(Buffer.from('00000000', 'hex')).length, 0);
    assert.equal(new Keyring(CLUSTER, { primary: A, previous: [A, A] }).keyIds().length, 1);
    assert.equal(new Keyring(CLUSTER).hasSecret, false);
  });

  it('[new, old] reads both; [old] reads [new, old] only if it accepts new', () => {
    const both = { primary: B, previous: [A] };
    assert.equal(reads(both, { primary: A }), true);
    assert.equal(reads(both, { primary: B }), true);
    assert.equal(reads({ primary: B }, both), true);
    assert.equal(reads({ primary: A }, both), false, '[old] cannot read what [new, old] seals with new');
    assert.equal(reads({ primary: A, previous: [B] }, both), true, '[old, +new] can');
  });

  it('rotates a cluster from A to B in three rolling steps with every pair talking at every moment', () => {
    // The procedure of keyring.ts. During each step, nodes already updated and nodes not yet updated coexist.
    const steps: GossipSecrets[] = [
      { primary: A },
      { primary: A, previous: [B] },
      { primary: B, previous: [A] },
      { primary: B },
    ];
    for (let i = 1; i < steps.length; i += 1) {
      const before = steps[i - 1] as GossipSecrets;
      const after = steps[i] as GossipSecrets;
      for (const [x, y] of [
        [before, before],
        [before, after],
        [after, before],
        [after, after],
      ] as const) {
        assert.equal(reads(x, y), true, `step ${i}: ${JSON.stringify(x)} reads ${JSON.stringify(y)}`);
      }
    }
    // Skipping step 1 would split the cluster while step 2 rolls.
    assert.equal(reads(steps[0] as GossipSecrets, steps[2] as GossipSecrets), false);
  });
});
