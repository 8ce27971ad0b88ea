/**
 * Nodes that come and go with fresh ids must not leave state behind for ever: a node keeps what it knows of a departed
 * peer only while it matters. Real ClusterLinks in this process (UDP discovery on 127.0.0.1, the libp2p mesh, registry
 * replication), gossip every 100 ms, so a peer is forgotten by discovery 6 s (60 intervals) after it was last heard.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { uniqueCluster, waitFor } from '../support/gater-process.ts';
import { startLinkedNode, type LinkedNode } from './support/linked-node.ts';

const SHORT_LIVED = 6;

describe('state about short-lived nodes with fresh ids', () => {
  const identity = uniqueCluster();
  const started: LinkedNode[] = [];
  after(() => Promise.all(started.map((n) => n.stop())));

  it('leaves the cluster monitor at their death and the registry once discovery forgets them', async () => {
    const observer = await startLinkedNode(identity, 'observer');
    started.push(observer);
    for (let i = 0; i < SHORT_LIVED; i++) {
      const node = await startLinkedNode(identity, `brief-${i}`);
      started.push(node);
      node.host(`s-${i}`, 'sqlite');
      await waitFor(`the observer to list s-${i}`, () => observer.registry.workersFor(`s-${i}`).length === 1, 15_000);
      await node.stop();
    }
    await waitFor('every short-lived node dead and purged on the observer', () =>
      observer.link.peers().length === SHORT_LIVED &&
      observer.link.peers().every((p) => p.state === 'dead') &&
      observer.registry.entries().length === 0, 15_000);

    assert.equal(observer.link.monitor.trackedPeers(), 0, 'the monitor keeps no state of dead peers');
    // Right after the purges their late copies must still be refused: the purges are remembered for now.
    assert.equal(observer.registry.purgedCount(), SHORT_LIVED);

    await waitFor('discovery to forget them', () => observer.link.peers().length === 0, 15_000);
    await waitFor('the registry to forget their purges', () => observer.registry.purgedCount() === 0, 5_000);
    assert.equal(observer.link.monitor.trackedPeers(), 0);
    assert.equal(observer.link.registrySync.stats().held, 0);
  });
});
