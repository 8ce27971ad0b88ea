/**
 * The rig's pure parts, which need neither root nor namespaces: the host plan, the nodes' environment (every
 * variable one the configuration knows), the formation check, the namespace prefix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPTIONS } from '../../src/config/options.ts';
import { formationGaps, type ClusterView } from '../../scripts/rig-lib/formation.ts';
import { prefixFor } from '../../scripts/rig-lib/state.ts';
import { nodeEnvironment, planHosts } from '../../scripts/rig-lib/topology.ts';

const KNOWN_ENV = new Set(Object.values(OPTIONS).flatMap((o) => o.env));

describe('the host plan', () => {
  it('puts store nodes first, one store each, then pure gateways, on consecutive addresses', () => {
    assert.deepEqual(
      planHosts(5, 2).map((h) => [h.index, h.name, h.role, h.stores.join(','), h.address]),
      [
        [1, 'gater-1', 'store', 'store-1', '198.18.0.11'],
        [2, 'gater-2', 'store', 'store-2', '198.18.0.12'],
        [3, 'gater-3', 'store', 'store-3', '198.18.0.13'],
        [4, 'gater-4', 'gateway', '', '198.18.0.14'],
        [5, 'gater-5', 'gateway', '', '198.18.0.15'],
      ],
    );
  });

  it('refuses sizes it cannot hold, naming the limit', () => {
    assert.throws(() => planHosts(0), /from 1 to 200 hosts/);
    assert.throws(() => planHosts(201), /from 1 to 200 hosts/);
    assert.throws(() => planHosts(3, 4), /--gateways/);
    assert.throws(() => planHosts(2.5), /hosts/);
  });
});

describe("a rig node's environment", () => {
  const [store, gateway] = [planHosts(2, 1)[0]!, planHosts(2, 1)[1]!];
  const init = { clusterName: 'gater', secret: 's'.repeat(32), dataDir: '/d' };

  it('binds gossip and the mesh to the host address, on the fixed ports, with the stores of its role', () => {
    const env = nodeEnvironment(store, { ...init, mode: 'broadcast' });
    assert.equal(env['GATER_GOSSIP_IF'], '198.18.0.11');
    assert.equal(env['GATER_STORES'], 'store-1');
    assert.equal(env['GATER_MESH_PORT'], '45893');
    assert.equal(env['GATER_GOSSIP_PORT'], '45892');
    assert.equal(nodeEnvironment(gateway, { ...init, mode: 'broadcast' })['GATER_STORES'], '', 'set but empty: a pure gateway');
  });

  it('gossips by broadcast to the seed address, or by multicast to the default group', () => {
    const broadcast = nodeEnvironment(store, { ...init, mode: 'broadcast' });
    assert.deepEqual([broadcast['GATER_BROADCAST_ONLY'], broadcast['GATER_GOSSIP_ADDR']], ['true', '255.255.255.255']);
    const multicast = nodeEnvironment(store, { ...init, mode: 'multicast' });
    assert.deepEqual([multicast['GATER_BROADCAST_ONLY'], multicast['GATER_GOSSIP_ADDR']], ['false', '239.255.43.21']);
  });

  it('uses only variables the configuration knows, and lets extra settings win', () => {
    const env = nodeEnvironment(store, { ...init, mode: 'multicast', extra: { GATER_GOSSIP_INTERVAL_MS: '250', GATER_STORES: 'x' } });
    for (const name of Object.keys(env)) assert.ok(KNOWN_ENV.has(name), `${name} is a configuration variable`);
    assert.equal(env['GATER_GOSSIP_INTERVAL_MS'], '250');
    assert.equal(env['GATER_STORES'], 'x');
  });
});

describe('the formation check', () => {
  const members = [
    { name: 'gater-1', stores: ['store-1'] },
    { name: 'gater-2', stores: [] },
  ];
  function view(name: string, peer: Partial<ClusterView['peers'][number]>, stores: string[], conflicts: string[] = []): ClusterView {
    return {
      self: { nodeId: `id-${name}`, name, incarnation: 1, stores: [], state: 'running' },
      peers: [{ nodeId: 'x', name: name === 'gater-1' ? 'gater-2' : 'gater-1', state: 'alive', connected: true, incarnation: 1, stores: [], ...peer }],
      registry: { entries: stores.map((store) => ({ store, workerId: `${store}#0`, nodeId: 'id' })), conflicts: conflicts.map((store) => ({ store })) },
      mesh: { connections: 1 },
    };
  }

  it('is satisfied by complete views', () => {
    assert.deepEqual(formationGaps(members, [view('gater-1', {}, ['store-1']), view('gater-2', {}, ['store-1'])]), []);
  });

  it('says what is missing, node by node', () => {
    assert.deepEqual(formationGaps(members, [undefined, view('gater-2', { state: 'suspect' }, [])]), [
      'gater-1 does not answer',
      'gater-2 sees gater-1 suspect',
      "gater-2's registry lacks store-1",
    ]);
    assert.deepEqual(formationGaps(members, [view('gater-1', { connected: false }, ['store-1'], ['store-1']), view('gater-2', { name: 'other' }, ['store-1'])]), [
      'gater-1 has no mesh connection to gater-2',
      'gater-1 reports conflicting stores store-1',
      'gater-2 has not heard of gater-1',
    ]);
  });
});

describe('the namespace prefix', () => {
  it('is derived from the state directory: stable for one, distinct for two, short enough for names', () => {
    assert.equal(prefixFor('/tmp/a'), prefixFor('/tmp/a/'));
    assert.notEqual(prefixFor('/tmp/a'), prefixFor('/tmp/b'));
    assert.match(prefixFor('/tmp/a'), /^gr[0-9a-f]{8}$/);
  });
});
