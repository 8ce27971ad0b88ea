/** Key derivation and the address helpers: pure functions, no sockets. */
import { preSharedKey } from '@libp2p/pnet';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GaterError } from '../../src/errors/index.ts';
import { MAX_CLUSTER_SECRETS, deriveClusterKeys, deriveKeyId, deriveSwarmKey } from '../../src/mesh/index.ts';
import { announceAddr, dialableAddrs, listenAddr } from '../../src/mesh/addresses.ts';

const PEER = '12D3KooWFKB5Uf3im1NpGDosKKhNTBCv4jvTDfNX6GgBHrCA5cbY';
const OTHER = '12D3KooWGrvSRRTjekbLWw32oGsZbdpXQpayDnqBS1d2hwAsDEUD';

describe('cluster keys', () => {
  it('derive a swarm.key that @libp2p/pnet accepts, deterministic per secret and cluster', () => {
    const key = deriveSwarmKey('s'.repeat(16), 'c');
    const text = Buffer.from(key).toString();
    assert.match(text, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/);
    assert.doesNotThrow(() => preSharedKey({ psk: key })());
    assert.deepEqual(deriveSwarmKey('s'.repeat(16), 'c'), key);
  });

  it('differ with the secret, with the cluster name, and between the key and its public id', () => {
    const base = Buffer.from(deriveSwarmKey('secret-one-16bytes', 'cluster')).toString();
    assert.notEqual(Buffer.from(deriveSwarmKey('secret-two-16bytes', 'cluster')).toString(), base);
    assert.notEqual(Buffer.from(deriveSwarmKey('secret-one-16bytes', 'cluster2')).toString(), base);
    // The label and the name are separated: ("a", "bc") and ("ab", "c") style collisions cannot happen.
    assert.notDeepEqual(deriveKeyId('secret-one-16bytes', 'x'), deriveKeyId('secret-one-16bytes', 'x\0'));
    const id = Buffer.from(deriveKeyId('secret-one-16bytes', 'cluster')).toString('hex');
    assert.equal(id.length, 16);
    assert.ok(!base.includes(id), 'the id is not a piece of the key');
  });

  it('form a keyring in order of preference, without duplicates', () => {
    const secrets = { primary: 'new-secret-16byte', previous: ['old-secret-16byte', 'new-secret-16byte'] };
    const ring = deriveClusterKeys(secrets, 'c');
    assert.equal(ring.length, 2);
    assert.equal(ring[0]!.id, Buffer.from(deriveKeyId('new-secret-16byte', 'c')).toString('hex'));
    assert.equal(ring[1]!.id, Buffer.from(deriveKeyId('old-secret-16byte', 'c')).toString('hex'));
    assert.deepEqual(deriveClusterKeys({ previous: [] }, 'c'), []);
    assert.equal(deriveClusterKeys({ previous: ['only-previous-16b'] }, 'c').length, 1);
  });

  it('reject empty secrets and oversized keyrings, naming the field', () => {
    const field = (f: string) => (err: unknown) =>
      err instanceof GaterError && err.code === 'invalid_argument' && err.data['field'] === f;
    assert.throws(() => deriveClusterKeys({ primary: '', previous: [] }, 'c'), field('clusterSecrets.primary'));
    assert.throws(() => deriveClusterKeys({ primary: 'x', previous: ['y', ''] }, 'c'), field('clusterSecrets.previous[1]'));
    const many = Array.from({ length: MAX_CLUSTER_SECRETS }, (_, i) => `secret-${i}`);
    assert.equal(deriveClusterKeys({ previous: many }, 'c').length, MAX_CLUSTER_SECRETS);
    assert.throws(() => deriveClusterKeys({ primary: 'one-more', previous: many }, 'c'), field('clusterSecrets.previous'));
  });
});

describe('mesh addresses', () => {
  it('listen on IPv4 or IPv6 addresses only', () => {
    assert.equal(listenAddr('0.0.0.0', 45893), '/ip4/0.0.0.0/tcp/45893');
    assert.equal(listenAddr('::', 0), '/ip6/::/tcp/0');
    const isListenHost = (err: unknown) => err instanceof GaterError && err.data['field'] === 'listenHost';
    assert.throws(() => listenAddr('localhost', 1), isListenHost);
  });

  it('announce IPs and DNS names with the peer id', () => {
    assert.equal(announceAddr('10.0.0.7', 45893, PEER), `/ip4/10.0.0.7/tcp/45893/p2p/${PEER}`);
    assert.equal(announceAddr('node-1.lan', 45893, PEER), `/dns/node-1.lan/tcp/45893/p2p/${PEER}`);
  });

  it('keep the dialable addresses of a peer, with its id, dropping garbage and other peers', () => {
    const { addrs, rejected } = dialableAddrs(PEER, [
      '/ip4/10.0.0.7/tcp/45893',
      `/ip4/10.0.0.8/tcp/45893/p2p/${PEER}`,
      `/ip4/10.0.0.9/tcp/45893/p2p/${OTHER}`,
      'not a multiaddr',
      '/ip4/10.0.0.7/tcp/45893',
    ]);
    assert.deepEqual(addrs.map(String), [`/ip4/10.0.0.7/tcp/45893/p2p/${PEER}`, `/ip4/10.0.0.8/tcp/45893/p2p/${PEER}`]);
    assert.deepEqual(rejected.map((r) => r.addr), [`/ip4/10.0.0.9/tcp/45893/p2p/${OTHER}`, 'not a multiaddr']);
  });
});
