import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { announcedAddrs } from '../../src/node/cluster-link.ts';

describe('announcedAddrs', () => {
  const all = ['/ip4/127.0.0.1/tcp/5/p2p/x', '/ip4/198.18.0.2/tcp/5/p2p/x', '/ip6/::1/tcp/5/p2p/x'];
  it('drops loopback addresses when gossip leaves loopback', () => {
    assert.deepEqual(announcedAddrs(all, '0.0.0.0'), ['/ip4/198.18.0.2/tcp/5/p2p/x']);
  });
  it('keeps everything on a loopback cluster, or when loopback is all there is', () => {
    assert.deepEqual(announcedAddrs(all, '127.0.0.1'), all);
    assert.deepEqual(announcedAddrs(['/ip4/127.0.0.1/tcp/5/p2p/x'], '10.0.0.1'), ['/ip4/127.0.0.1/tcp/5/p2p/x']);
  });
});
