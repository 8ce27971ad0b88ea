/**
 * `gater status` (the real CLI) against real nodes in conflict: two processes hosting the same embedded store. Their
 * workers look alike and healthy, so the tables must say what the registry and the readiness probe know: the store's
 * calls are refused, the node is not ready and why, and whether each peer has its mesh connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterView } from '../support/cluster-view.ts';
import { TestCluster, waitFor } from '../support/gater-process.ts';
import { runBin } from './cli-harness.ts';

const FAST_GOSSIP = { GATER_GOSSIP_INTERVAL_MS: '200' };

describe('gater status on a node whose store is in conflict', () => {
  const cluster = new TestCluster();
  const n1 = cluster.add('n1', { stores: ['alpha'], env: FAST_GOSSIP });
  const twin = cluster.add('twin', { stores: ['alpha'], env: FAST_GOSSIP });

  before(async () => {
    await n1.start();
    // The twin is never ready: its own registry reports the conflict.
    await twin.start({ until: 'live' });
    await waitFor('n1 to report the alpha conflict, with twin connected', async () => {
      const view = await clusterView(n1);
      return view.registry.conflicts.some((c) => c.store === 'alpha') && view.peers.some((p) => p.name === 'twin' && p.connected);
    });
  });
  after(() => cluster.close());

  it('flags the store, says the node is not ready and why, and shows each peer connected', async () => {
    const { code, stdout, stderr } = await runBin(['status', '--url', n1.url]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^ {2}ready +NO - registry \(store conflict: alpha\)$/m);
    assert.match(stdout, /^ {2}NAME +NODE ID +STATE +CONNECTED +LAST SEEN/m);
    assert.match(stdout, /^ {2}twin +\S+ +alive +yes +/m);
    const rows = stdout.slice(stdout.indexOf('Stores (1)')).split('\n').slice(1, 4);
    assert.match(rows[0]!, /^ {2}STORE +STATUS +WORKER +NODE +BACKEND$/);
    assert.match(rows[1]!, /^ {2}alpha +CONFLICT - calls refused +\S+ +(n1|twin) +sqlite$/);
    assert.match(rows[2]!, /^ {4,}\S+ +(n1|twin) +sqlite$/);

    const json = await runBin(['status', '--url', n1.url, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const body = JSON.parse(json.stdout) as { ready: { ready: boolean; checks: Record<string, { ok: boolean }> } };
    assert.equal(body.ready.ready, false);
    assert.equal(body.ready.checks['registry']?.ok, false);
  });

  it('says yes once the conflict is over', async () => {
    await twin.kill();
    await waitFor('n1 to be ready again', async () => (await n1.json('/health/ready')).status === 200);
    const { code, stdout, stderr } = await runBin(['status', '--url', n1.url]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^ {2}ready +yes$/m);
    assert.match(stdout, /^ {2}alpha +serving +\S+ +n1 +sqlite$/m);
  });
});
