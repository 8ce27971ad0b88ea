/** The redial logic against a scripted dial function and a fake clock. */
import { multiaddr } from '@multiformats/multiaddr';
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { PeerDialer, dialsFirst, redialDelayMs } from '../../src/mesh/index.ts';

const LOW = 'peer-a';
const HIGH = 'peer-b';
const ADDRS = [multiaddr('/ip4/127.0.0.1/tcp/1')];
const OTHER_ADDRS = [multiaddr('/ip4/127.0.0.1/tcp/2')];

describe('redialDelayMs', () => {
  it('doubles per failure from the initial delay up to the ceiling, jittered within [half, all]', () => {
    const table: [failures: number, random: number, expected: number][] = [
      [1, 0, 50],
      [1, 0.999_999, 100],
      [2, 0, 100],
      [3, 0.5, 300],
      [6, 0, 1_600],
      [7, 0, 2_500],
      [7, 0.999_999, 5_000],
      [1_000, 0.5, 3_750],
    ];
    for (const [failures, random, expected] of table) {
      assert.equal(redialDelayMs(failures, 100, 5_000, () => random), expected, `failures=${failures} random=${random}`);
    }
  });

  it('picks the smaller peer id as the dialer, exactly one side of every pair', () => {
    assert.equal(dialsFirst(LOW, HIGH), true);
    assert.equal(dialsFirst(HIGH, LOW), false);
    assert.equal(dialsFirst(LOW, LOW), false);
  });
});

describe('PeerDialer', () => {
  let calls: { peerId: string; at: number; addrs: string[] }[];
  let outcomes: ('ok' | 'fail')[];
  let connected: Set<string>;
  let dialer: PeerDialer;

  function make(localPeerId: string): PeerDialer {
    return new PeerDialer(
      {},
      {
        localPeerId,
        dial: async (peerId, addrs) => {
          calls.push({ peerId, at: Date.now(), addrs: addrs.map(String) });
          if ((outcomes.shift() ?? 'fail') === 'fail') throw new Error('connection refused');
          connected.add(peerId);
          dialer.onConnected(peerId);
        },
        isConnected: (peerId) => connected.has(peerId),
        redialInitialDelayMs: 100,
        redialMaxDelayMs: 1_000,
        stableConnectionMs: 10_000,
        random: () => 0.5, // three quarters of each backoff step
      },
    );
  }

  /** Advances the fake clock, letting the dial promises settle between timers. */
  async function advance(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 5) {
      mock.timers.tick(5);
      for (let i = 0; i < 10; i++) await Promise.resolve();
    }
  }

  function drop(peerId: string): void {
    connected.delete(peerId);
    dialer.onDisconnected(peerId);
  }

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    calls = [];
    outcomes = [];
    connected = new Set();
  });
  afterEach(() => {
    dialer.stop();
    mock.timers.reset();
  });

  it('dials a wanted peer at once when it is the smaller id, and never when it is the larger', async () => {
    dialer = make(LOW);
    dialer.start();
    outcomes.push('ok');
    dialer.want(HIGH, ADDRS);
    await advance(5);
    assert.deepEqual(calls.map((c) => c.peerId), [HIGH], 'dialed within the first 5 ms step');
    dialer.stop();

    calls = [];
    dialer = make(HIGH);
    dialer.start();
    dialer.want(LOW, ADDRS);
    drop(LOW);
    await advance(10_000);
    assert.deepEqual(calls, []);
  });

  it('backs off exponentially, up to the ceiling, while dials fail', async () => {
    dialer = make(LOW);
    dialer.start();
    dialer.want(HIGH, ADDRS);
    await advance(6_000);
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
    // 0.75 × 100, 200, 400, 800, then the 1000 ms ceiling.
    assert.deepEqual(gaps.slice(0, 6), [75, 150, 300, 600, 750, 750].map((g) => roundUp(g)));
    assert.ok(dialer.isPending(HIGH));
  });

  it('stops at once when the peer is forgotten, even in the middle of backing off', async () => {
    dialer = make(LOW);
    dialer.start();
    dialer.want(HIGH, ADDRS);
    await advance(300);
    const before = calls.length;
    assert.ok(before >= 2);
    assert.equal(dialer.forget(HIGH), true);
    assert.equal(dialer.isPending(HIGH), false);
    await advance(10_000);
    assert.equal(calls.length, before);
    assert.equal(dialer.forget(HIGH), false);
  });

  it('redials a dropped connection soon when it was stable, with growing delays when it keeps dropping', async () => {
    dialer = make(LOW);
    dialer.start();
    outcomes.push('ok', 'ok', 'ok', 'ok');
    dialer.want(HIGH, ADDRS);
    await advance(5);
    await advance(20_000); // a stable connection
    drop(HIGH);
    await advance(80);
    assert.equal(calls.length, 2, 'redialed after 75 ms');
    drop(HIGH); // dropped again at once: the backoff grows
    await advance(140);
    assert.equal(calls.length, 2);
    await advance(20);
    assert.equal(calls.length, 3, 'redialed after 150 ms');
  });

  it('dials at once, with the backoff reset, when a backing-off peer reports new addresses', async () => {
    dialer = make(LOW);
    dialer.start();
    dialer.want(HIGH, ADDRS);
    await advance(1_500); // several failures: the next try is far off
    const before = calls.length;
    outcomes.push('ok');
    dialer.want(HIGH, OTHER_ADDRS);
    await advance(5);
    assert.equal(calls.length, before + 1);
    assert.deepEqual(calls.at(-1)!.addrs, OTHER_ADDRS.map(String));
    dialer.want(HIGH, OTHER_ADDRS); // same addresses, already connected: nothing
    await advance(2_000);
    assert.equal(calls.length, before + 1);
  });

  it('dials at once when told again about a peer it is backing off from, keeping the backoff', async () => {
    dialer = make(LOW);
    dialer.start();
    dialer.want(HIGH, ADDRS);
    await advance(1_500); // 5 failures: the next try is 750 ms away
    const before = calls.length;
    dialer.want(HIGH, ADDRS);
    await advance(5);
    assert.equal(calls.length, before + 1, 'dialed at once');
    await advance(700);
    assert.equal(calls.length, before + 1, 'the backoff after that failure is still the ceiling');
    await advance(100);
    assert.equal(calls.length, before + 2);
  });

  it('dials nothing while stopped and resumes on start', async () => {
    dialer = make(LOW);
    dialer.want(HIGH, ADDRS);
    await advance(1_000);
    assert.deepEqual(calls, []);
    dialer.start();
    await advance(5);
    assert.equal(calls.length, 1);
    dialer.stop();
    await advance(5_000);
    assert.equal(calls.length, 1);
  });
});

/** Timers fire on the 5 ms steps of `advance`. */
function roundUp(ms: number): number {
  return Math.ceil(ms / 5) * 5;
}
