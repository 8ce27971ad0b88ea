/**
 * One store id announced with the embedded backend by one node and with PostgreSQL by others is two different stores,
 * not one store served twice: every node must report it as a conflict (and the gateway then refuses its calls)
 * instead of balancing calls over both. Real ClusterLinks in this process: UDP discovery on 127.0.0.1, the libp2p
 * mesh, registry replication over gossipsub and full exchanges.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uniqueCluster, waitFor } from '../support/gater-process.ts';
import { startLinkedNode, type LinkedNode } from './support/linked-node.ts';

describe('a store announced as SQLite by one node and PostgreSQL by others', () => {
  const identity = uniqueCluster();
  const nodes: LinkedNode[] = [];

  before(async () => {
    for (const name of ['lite', 'pg-1', 'pg-2']) nodes.push(await startLinkedNode(identity, name));
  });
  after(() => Promise.all(nodes.map((n) => n.stop())));

  it('is a conflict on every node, naming every claimant; a store shared in PostgreSQL alone is not', async () => {
    const [lite, pg1, pg2] = nodes as [LinkedNode, LinkedNode, LinkedNode];
    lite.host('orders', 'sqlite');
    pg1.host('orders', 'postgres');
    pg2.host('orders', 'postgres');
    // The control: the same id served by several nodes from one PostgreSQL database is one store.
    pg1.host('billing', 'postgres');
    pg2.host('billing', 'postgres');
    const claimants = [lite, pg1, pg2].map((n) => n.nodeId).sort();
    for (const node of nodes) {
      await waitFor(`${node.name} to hold every worker`, () =>
        node.registry.workersFor('orders').length === 3 && node.registry.workersFor('billing').length === 2, 15_000);
      assert.deepEqual(node.registry.conflicts(), [{ store: 'orders', nodeIds: claimants }], node.name);
      assert.equal(node.registry.conflictFor('billing'), undefined, node.name);
    }

    // The embedded claimant stops: what is left is one shared store, served by both PostgreSQL nodes.
    await lite.link.stop();
    for (const node of [pg1, pg2]) {
      await waitFor(`${node.name} to drop the SQLite claimant`, () => node.registry.workersFor('orders').length === 2, 15_000);
      assert.deepEqual(node.registry.conflicts(), [], node.name);
    }
  });
});
