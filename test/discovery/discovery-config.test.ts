import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveDiscoveryConfig, type DiscoveryInit } from '../../src/discovery/discovery-config.ts';
import { InvalidArgumentError } from '../../src/errors/index.ts';

const SECRET = 'config-test-secret-0123456789';
const BASE: DiscoveryInit = { clusterName: 'c', nodeId: 'n1', incarnation: 1 };

function rejects(init: Record<string, unknown>, field: string, message?: RegExp): void {
  assert.throws(
    () => resolveDiscoveryConfig({ ...BASE, ...init } as DiscoveryInit),
    (err: unknown) =>
      err instanceof InvalidArgumentError &&
      err.data['field'] === field &&
      (message === undefined || message.test(err.message)),
    `expected an error on ${field}`,
  );
}

describe('discovery configuration', () => {
  it('applies documented defaults and freezes the result', () => {
    const c = resolveDiscoveryConfig(BASE);
    assert.equal(c.port, 45_892);
    assert.equal(c.bindAddress, '127.0.0.1');
    assert.equal(c.groupMode, 'multicast');
    assert.equal(c.group, '239.255.43.21');
    assert.equal(c.ttl, 1);
    assert.equal(c.intervalMs, 1_000);
    assert.equal(c.suspectAfterMs, 3_000);
    assert.equal(c.deadAfterMs, 5_000);
    assert.equal(c.forgetAfterMs, 60_000);
    assert.equal(c.probeAfterMs, 1_500);
    assert.equal(c.probeIntervalMs, 250);
    assert.equal(c.maxClockSkewMs, 30_000);
    assert.equal(c.nodeName, 'n1');
    assert.deepEqual(c.seeds, []);
    assert.deepEqual(c.advertise(), { addrs: [], roles: [], stores: [] });
    assert.ok(Object.isFrozen(c));
  });

  it('scales the windows with the interval unless they are set', () => {
    const c = resolveDiscoveryConfig({ ...BASE, intervalMs: 100 });
    assert.deepEqual([c.suspectAfterMs, c.deadAfterMs, c.forgetAfterMs], [300, 500, 6_000]);
    const d = resolveDiscoveryConfig({ ...BASE, intervalMs: 100, suspectAfterMs: 800 });
    assert.deepEqual([d.suspectAfterMs, d.deadAfterMs], [800, 900], 'dead stays after suspect');
    assert.deepEqual([c.probeAfterMs, c.probeIntervalMs], [150, 25]);
    const e = resolveDiscoveryConfig({ ...BASE, intervalMs: 100, suspectAfterMs: 130 });
    assert.equal(e.probeAfterMs, 130, 'probing starts no later than suspicion');
    assert.equal(resolveDiscoveryConfig({ ...BASE, intervalMs: 10 }).probeIntervalMs, 3);
  });

  it('chooses the group mode and its address', () => {
    const b = resolveDiscoveryConfig({ ...BASE, broadcastOnly: true, secrets: { primary: SECRET } });
    assert.deepEqual([b.groupMode, b.group], ['broadcast', '255.255.255.255']);
    const seeds = ['127.0.0.1:4000', { host: 'localhost', port: 4001 }];
    const u = resolveDiscoveryConfig({ ...BASE, multicast: false, seeds, port: 0 });
    assert.equal(u.groupMode, 'none');
    assert.deepEqual(u.seeds, [
      { host: '127.0.0.1', port: 4000 },
      { host: 'localhost', port: 4001 },
    ]);
  });

  it('rejects unknown options and bad values, naming the field', () => {
    rejects({ intervalMS: 10 }, 'discovery', /unknown options: intervalMS/);
    rejects({ clusterName: 'with space' }, 'clusterName');
    rejects({ nodeId: '' }, 'nodeId');
    rejects({ nodeName: '-x' }, 'nodeName');
    rejects({ incarnation: -1 }, 'incarnation');
    rejects({ incarnation: 1.5 }, 'incarnation');
    rejects({ port: 70_000 }, 'port');
    rejects({ port: 0 }, 'port', /from 1 to/);
    rejects({ bindAddress: 'localhost' }, 'bindAddress');
    rejects({ group: '10.0.0.1' }, 'group', /multicast/);
    rejects({ seeds: ['127.0.0.1'] }, 'seeds[0]');
    rejects({ seeds: ['127.0.0.1:1', 'x:0'] }, 'seeds[1]');
    rejects({ seeds: [{ host: 'x', port: 70_000 }] }, 'seeds[0]');
    rejects({ seeds: [42] }, 'seeds[0]');
    rejects({ ttl: 0 }, 'ttl');
    rejects({ intervalMs: 5 }, 'intervalMs');
    rejects({ intervalMs: 100, suspectAfterMs: 120 }, 'suspectAfterMs', /from 121/);
    rejects({ suspectAfterMs: 4_000, deadAfterMs: 4_000 }, 'deadAfterMs');
    rejects({ deadAfterMs: 6_000, forgetAfterMs: 6_000 }, 'forgetAfterMs');
    rejects({ probeAfterMs: 0 }, 'probeAfterMs');
    rejects({ probeAfterMs: 3_001 }, 'probeAfterMs', /from 1 to 3000/);
    rejects({ probeIntervalMs: 0 }, 'probeIntervalMs');
    rejects({ maxClockSkewMs: 0 }, 'maxClockSkewMs');
    rejects({ advertise: 'stores' }, 'advertise');
    rejects({ secrets: { primary: 'short' } }, 'secrets.primary', /at least 16 bytes/);
    rejects({ secrets: { primary: SECRET, previous: ['short'] } }, 'secrets.previous[0]');
    rejects({ secrets: { previous: [SECRET] } }, 'secrets.primary', /required when previous/);
    rejects({ secrets: { primary: SECRET, next: SECRET } }, 'secrets', /unknown keys: next/);
  });

  it('refuses gossip beyond loopback without a secret, saying how to set one', () => {
    rejects({ bindAddress: '0.0.0.0' }, 'secrets.primary', /GATER_CLUSTER_SECRET/);
    rejects({ bindAddress: '192.0.2.2' }, 'secrets.primary');
    rejects({ multicast: false, seeds: ['10.0.0.1:45892'] }, 'secrets.primary');
    rejects({ broadcastOnly: true }, 'secrets.primary', /broadcast address 255\.255\.255\.255/);
    rejects({ multicast: false, seeds: ['10.0.0.1:45892'] }, 'secrets.primary', /seed 10\.0\.0\.1/);
    assert.equal(resolveDiscoveryConfig({ ...BASE, broadcastOnly: true, group: '127.255.255.255' }).groupMode, 'broadcast');
    const secured = resolveDiscoveryConfig({ ...BASE, bindAddress: '0.0.0.0', secrets: { primary: SECRET } });
    assert.equal(secured.bindAddress, '0.0.0.0');
  });
});
