import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { ClusterMonitor, type DiscoveryEvents, type PeerInfo } from '../../src/discovery/index.ts';
import { captureLogger } from './support/udp.ts';

function peer(nodeId: string, state: PeerInfo['state']): PeerInfo {
  return {
    nodeId,
    name: nodeId,
    addrs: [],
    state,
    lastSeen: new Date(0).toISOString(),
    incarnation: 1,
    roles: [],
    stores: [],
    truncated: false,
    endpoint: '127.0.0.1:1',
  };
}

class FakeDiscovery extends EventEmitter<DiscoveryEvents> {
  table: PeerInfo[] = [];
  peers(): PeerInfo[] {
    return this.table;
  }
}

describe('cluster monitor', () => {
  it('logs joins, suspicions, recoveries and leaves, and stops listening when stopped', () => {
    const { logger, lines } = captureLogger('info');
    const discovery = new FakeDiscovery();
    const monitor = new ClusterMonitor({ logger }, { discovery });
    monitor.start();
    monitor.start();
    discovery.table = [peer('b', 'alive')];
    discovery.emit('peer:up', peer('b', 'alive'));
    discovery.emit('peer:updated', peer('b', 'suspect'));
    discovery.emit('peer:updated', peer('b', 'suspect'));
    discovery.emit('peer:updated', peer('b', 'alive'));
    discovery.emit('peer:updated', peer('b', 'alive'));
    discovery.table = [peer('b', 'dead')];
    discovery.emit('peer:down', peer('b', 'dead'));
    assert.deepEqual(
      lines.map((l) => l['msg']),
      [
        'node joined the cluster',
        'cluster has 2 live node(s)',
        'node suspected: not heard lately',
        'suspected node heard again',
        'node left the cluster',
        'cluster has 1 live node(s)',
      ],
    );
    monitor.stop();
    assert.equal(discovery.listenerCount('peer:up'), 0);
    discovery.emit('peer:up', peer('c', 'alive'));
    assert.equal(lines.length, 6);
  });
});
