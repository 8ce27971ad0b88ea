/**
 * `gater start` as a real process: values the node could not use are refused with the configuration, in one line
 * naming the setting, exit 2 (not later, with a stack trace naming an internal field); and the `GATER_*` variables
 * of the project's own tools, exported in the same shell, do not stop a start.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GaterProcess, uniqueCluster } from '../support/gater-process.ts';
import { runBin } from './cli-harness.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gater-start-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A loopback node of a cluster of its own, with `extra` on top. */
function startEnv(extra: Record<string, string>): Record<string, string> {
  const cluster = uniqueCluster();
  return {
    GATER_DATA_DIR: dir,
    GATER_HTTP_HOST: '127.0.0.1',
    GATER_HTTP_PORT: '0',
    GATER_CLUSTER_NAME: cluster.name,
    GATER_GOSSIP_PORT: String(cluster.gossipPort),
    GATER_GOSSIP_ADDR: cluster.group,
    GATER_LOG_FORMAT: 'json',
    ...extra,
  };
}

describe('gater start refuses, with the configuration, values the node cannot use', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['a mesh host that is a host name', { GATER_MESH_HOST: 'localhost' }, 'GATER_MESH_HOST must be an IP address (got "localhost")'],
    [
      'a PostgreSQL URL with a port out of range (not also "pgUrl is required", and not the password)',
      { GATER_STORE_BACKEND: 'postgres', GATER_PG_URL: 'postgresql://u:pw@127.0.0.1:99999/db' },
      'GATER_PG_URL must have a port from 1 to 65535',
    ],
    [
      "the seed's store id given as a list (it names one store)",
      { EX_ESDB_STORE_ID: 'a,b' },
      'EX_ESDB_STORE_ID must be one store id ([A-Za-z0-9_-]{1,64}); for several, or none, set GATER_STORES (got "a,b")',
    ],
    [
      'an IPv6 seed (gossip is IPv4 only)',
      { GATER_SEEDS: '[::1]:45999' },
      'GATER_SEEDS item 1 must be host:port with an IPv4 address or a host name (gossip is IPv4 only) (got "[::1]:45999")',
    ],
  ];
  for (const [what, env, message] of cases) {
    it(`${what}: one line naming the setting, exit 2`, async () => {
      const result = await runBin(['start'], startEnv(env), 20_000);
      assert.equal(result.stderr, `gater: invalid configuration: ${message}\n`, result.stdout);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '', 'nothing started, so nothing logged');
    });
  }
});

describe("gater start with the tools' GATER_ variables exported", () => {
  const node = new GaterProcess({ name: 'rig-shell', cluster: uniqueCluster(), env: { GATER_RIG_DIR: '/tmp/gater-rig' } });
  after(() => node.close());

  it('starts and serves: GATER_RIG_DIR is scripts/rig\'s, not a mistyped setting', async () => {
    await node.start();
    assert.equal((await node.json('/health/ready')).status, 200);
  });
});
