/**
 * The per-address cap on inbound upgrades (src/mesh/inbound-limiter.ts) on its own, with stand-in connections: what
 * counts, what releases a slot, and how addresses are told apart. test/mesh/inbound-flood.test.ts proves it on real
 * meshes.
 */
import { StreamCloseEvent, type MultiaddrConnection } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InboundLimiter, remoteHost } from '../../src/mesh/inbound-limiter.ts';
import { MAX_INCOMING_PENDING_CONNECTIONS_PER_HOST } from '../../src/mesh/index.ts';

/** Just what the limiter uses of a connection: its remote address, its status and its close event. */
class FakeConnection extends EventTarget {
  status: MultiaddrConnection['status'] = 'open';
  readonly remoteAddr: Multiaddr;

  constructor(addr: string) {
    super();
    this.remoteAddr = multiaddr(addr);
  }

  close(): void {
    this.status = 'closed';
    this.dispatchEvent(new StreamCloseEvent());
  }
}

function conn(addr: string): MultiaddrConnection {
  return new FakeConnection(addr) as unknown as MultiaddrConnection;
}

function close(c: MultiaddrConnection): void {
  (c as unknown as FakeConnection).close();
}

describe('the inbound limiter', () => {
  it('admits up to the cap from one address, refuses beyond it, and counts each address apart', () => {
    const refused: string[] = [];
    const limiter = new InboundLimiter({ maxPerHost: 2, onRefused: (host) => refused.push(host) });
    assert.equal(limiter.admit(conn('/ip4/10.0.0.1/tcp/1001')), true);
    assert.equal(limiter.admit(conn('/ip4/10.0.0.1/tcp/1002')), true);
    assert.equal(limiter.admit(conn('/ip4/10.0.0.1/tcp/1003')), false);
    assert.equal(limiter.admit(conn('/ip4/10.0.0.2/tcp/1001')), true);
    assert.deepEqual(refused, ['10.0.0.1']);
    assert.equal(limiter.pendingFrom('10.0.0.1'), 2);
    assert.equal(limiter.pendingFrom('10.0.0.2'), 1);
    assert.equal(limiter.size, 3);
  });

  it('frees a slot when the upgrade succeeds or the connection closes, once either way', () => {
    const limiter = new InboundLimiter({ maxPerHost: 2 });
    const upgraded = conn('/ip4/10.0.0.1/tcp/1001');
    const failed = conn('/ip4/10.0.0.1/tcp/1002');
    assert.equal(limiter.admit(upgraded), true);
    assert.equal(limiter.admit(failed), true);
    assert.equal(limiter.admit(conn('/ip4/10.0.0.1/tcp/1003')), false);

    limiter.release(upgraded); // the upgrade succeeded
    close(upgraded); // and the connection closed later: already released
    limiter.release(upgraded);
    assert.equal(limiter.pendingFrom('10.0.0.1'), 1);

    close(failed); // the upgrade failed: the transport aborts the connection
    limiter.release(failed);
    assert.equal(limiter.pendingFrom('10.0.0.1'), 0);
    assert.equal(limiter.size, 0);
    assert.equal(limiter.admit(conn('/ip4/10.0.0.1/tcp/1004')), true);
    assert.equal(limiter.admit(conn('/ip4/10.0.0.1/tcp/1005')), true);
  });

  it('does not count a connection already closed, one without an IP address, or one admitted twice', () => {
    const limiter = new InboundLimiter({ maxPerHost: 1 });
    const closed = conn('/ip4/10.0.0.1/tcp/1001');
    close(closed);
    assert.equal(limiter.admit(closed), true);
    assert.equal(limiter.admit(conn('/unix/tmp%2Fgater.sock')), true);
    const twice = conn('/ip4/10.0.0.1/tcp/1002');
    assert.equal(limiter.admit(twice), true);
    assert.equal(limiter.admit(twice), true);
    assert.equal(limiter.pendingFrom('10.0.0.1'), 1);
    assert.equal(limiter.size, 1);
  });

  it(`defaults to ${MAX_INCOMING_PENDING_CONNECTIONS_PER_HOST} per address`, () => {
    const limiter = new InboundLimiter();
    for (let i = 0; i < MAX_INCOMING_PENDING_CONNECTIONS_PER_HOST; i++) {
      assert.equal(limiter.admit(conn(`/ip4/10.0.0.1/tcp/${2000 + i}`)), true);
    }
    assert.equal(limiter.admit(conn('/ip4/10.0.0.1/tcp/1999')), false);
  });

  it('spells each host one way: an IPv4-mapped IPv6 address as the IPv4 address', () => {
    assert.equal(remoteHost(multiaddr('/ip4/127.0.0.2/tcp/1')), '127.0.0.2');
    assert.equal(remoteHost(multiaddr('/ip6/2001:DB8::1/tcp/1')), '2001:db8::1');
    assert.equal(remoteHost(multiaddr('/ip6/::ffff:10.0.0.1/tcp/1')), '10.0.0.1');
    assert.equal(remoteHost(multiaddr('/ip6/::ffff:7f00:2/tcp/1')), '127.0.0.2');
    assert.equal(remoteHost(multiaddr('/ip6/::1/tcp/1')), '::1');
    assert.equal(remoteHost(multiaddr('/unix/tmp%2Fgater.sock')), undefined);
    // Mapped IPv4 and plain IPv4 share one count.
    const limiter = new InboundLimiter({ maxPerHost: 1 });
    assert.equal(limiter.admit(conn('/ip4/10.0.0.1/tcp/1')), true);
    assert.equal(limiter.admit(conn('/ip6/::ffff:10.0.0.1/tcp/2')), false);
  });
});
