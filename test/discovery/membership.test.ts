import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  nextProbeAt,
  nextTransitionAt,
  stateAt,
  type MembershipWindows,
} from '../../src/discovery/failure-detector.ts';
import { PeerTable, type Observation } from '../../src/discovery/peer-table.ts';
import { ReplayGuard } from '../../src/discovery/replay-guard.ts';
import type { GossipPayload } from '../../src/discovery/payload-codec.ts';
import type { MessageKindName } from '../../src/discovery/wire-format.ts';
import { samplePayload } from './support/payloads.ts';

const W: MembershipWindows = {
  suspectAfterMs: 300,
  deadAfterMs: 500,
  forgetAfterMs: 2_000,
  probeAfterMs: 150,
  probeIntervalMs: 25,
};
const WALL = Date.UTC(2030, 0, 1);

function seen(
  now: number,
  payload: Partial<GossipPayload> = {},
  kind: MessageKindName = 'beacon',
  endpoint = '127.0.0.1:5000',
): Observation {
  return { kind, payload: samplePayload({ nodeId: 'b', ...payload }), endpoint, now, wallNow: WALL + now };
}

function events(result: { changes: readonly { event: string; peer: { state: string } }[] }): string[] {
  return result.changes.map((c) => `${c.event}:${c.peer.state}`);
}

describe('failure detector timing', () => {
  it('maps silence to a state, table-driven', () => {
    const cases: Array<[silence: number, left: boolean, verdict: string]> = [
      [0, false, 'alive'],
      [299, false, 'alive'],
      [300, false, 'suspect'],
      [499, false, 'suspect'],
      [500, false, 'dead'],
      [1_999, false, 'dead'],
      [2_000, false, 'forgotten'],
      [0, true, 'dead'],
      [2_000, true, 'forgotten'],
    ];
    for (const [silence, left, verdict] of cases) {
      assert.equal(stateAt(1_000, left, 1_000 + silence, W), verdict, `silence ${silence}, left ${left}`);
    }
  });

  it('names the next transition of each state', () => {
    assert.equal(nextTransitionAt(100, 'alive', W), 400);
    assert.equal(nextTransitionAt(100, 'suspect', W), 600);
    assert.equal(nextTransitionAt(100, 'dead', W), 2_100);
  });

  it('probes a silent peer probeAfterMs into its silence, then every probeIntervalMs after the last probe', () => {
    assert.equal(nextProbeAt(100, undefined, W), 250);
    assert.equal(nextProbeAt(100, 250, W), 275);
    assert.equal(nextProbeAt(100, 290, W), 315, 'from when the probe went, late or not');
  });
});

describe('peer table', () => {
  it('a new peer is up and fresh; heard again unchanged, nothing happens', () => {
    const t = new PeerTable(W);
    const first = t.observe(seen(0));
    assert.deepEqual(events(first), ['peer:up:alive']);
    assert.equal(first.fresh, true);
    const again = t.observe(seen(100, { sequence: 2 }));
    assert.deepEqual(events(again), []);
    assert.equal(again.fresh, false);
    assert.equal(t.get('b')?.lastSeen, new Date(WALL + 100).toISOString());
  });

  it('goes suspect, then dead, then is forgotten, each exactly at its deadline', () => {
    const t = new PeerTable(W);
    t.observe(seen(0));
    assert.equal(t.nextDeadline(), 150, 'its first probe comes before');
    assert.deepEqual(events({ changes: t.sweep(299) }), []);
    assert.deepEqual(events({ changes: t.sweep(300) }), ['peer:updated:suspect']);
    assert.deepEqual(events({ changes: t.sweep(500) }), ['peer:down:dead']);
    assert.equal(t.nextDeadline(), 2_000, 'no more probes, only forgetting');
    assert.deepEqual(events({ changes: t.sweep(1_999) }), []);
    assert.equal(t.list().length, 1);
    assert.deepEqual(events({ changes: t.sweep(2_000) }), []);
    assert.equal(t.list().length, 0);
    assert.equal(t.nextDeadline(), undefined);
  });

  it('probes a silent peer on schedule until it is heard, and never a dead or departed one', () => {
    const t = new PeerTable(W);
    t.observe(seen(0));
    const probes = (now: number): string[] => t.dueProbes(now).map((p) => `${p.nodeId}@${p.endpoint}`);
    assert.deepEqual(probes(149), []);
    assert.deepEqual(probes(150), ['b@127.0.0.1:5000']);
    assert.deepEqual(probes(150), [], 'once per due time');
    assert.equal(t.nextDeadline(), 175);
    assert.deepEqual(probes(180), ['b@127.0.0.1:5000'], 'a late round still probes');
    assert.equal(t.nextDeadline(), 205, 'and the next is an interval after it');
    t.observe(seen(190, { sequence: 2 }, 'ack', '127.0.0.1:5001'));
    assert.equal(t.nextDeadline(), 340, 'heard (an ack is heard like a beacon): the next probe is probeAfterMs away');
    assert.deepEqual(probes(339), []);
    assert.deepEqual(probes(340), ['b@127.0.0.1:5001'], 'to the endpoint it was heard from last');
    t.sweep(690);
    assert.equal(t.get('b')?.state, 'dead');
    assert.deepEqual(probes(700), [], 'the dead are not probed');
    t.observe(seen(710, { sequence: 3 }));
    t.observe(seen(720, { sequence: 4 }, 'leave'));
    assert.deepEqual(probes(1_000), [], 'nor those that left');
    assert.equal(t.nextDeadline(), 2_720);
  });

  it('a late sweep goes straight from alive to dead with a single peer:down', () => {
    const t = new PeerTable(W);
    t.observe(seen(0));
    assert.deepEqual(events({ changes: t.sweep(900) }), ['peer:down:dead']);
  });

  it('a suspect peer heard again is alive again, and answered', () => {
    const t = new PeerTable(W);
    t.observe(seen(0));
    t.sweep(350);
    const back = t.observe(seen(360, { sequence: 2 }));
    assert.deepEqual(events(back), ['peer:updated:alive']);
    assert.equal(back.fresh, true);
  });

  it('a dead peer heard again (a healed partition) is up again', () => {
    const t = new PeerTable(W);
    t.observe(seen(0));
    t.sweep(600);
    const back = t.observe(seen(700, { sequence: 9 }));
    assert.deepEqual(events(back), ['peer:up:alive']);
    assert.equal(back.fresh, true);
  });

  it('a restarted peer replaces its old self: down for the old life, up for the new', () => {
    const t = new PeerTable(W);
    t.observe(seen(0, { incarnation: 10, addrs: ['/ip4/127.0.0.1/tcp/1'] }));
    const newLife = { incarnation: 11, sequence: 1, addrs: ['/ip4/127.0.0.1/tcp/2'] };
    const restart = t.observe(seen(50, newLife, 'beacon', '127.0.0.1:6000'));
    assert.deepEqual(
      restart.changes.map((c) => [c.event, c.peer.state, c.peer.incarnation, c.peer.addrs[0], c.peer.endpoint]),
      [
        ['peer:down', 'dead', 10, '/ip4/127.0.0.1/tcp/1', '127.0.0.1:5000'],
        ['peer:up', 'alive', 11, '/ip4/127.0.0.1/tcp/2', '127.0.0.1:6000'],
      ],
    );
    assert.equal(restart.fresh, true);
    assert.deepEqual(events(t.observe(seen(60, { incarnation: 10, sequence: 99 }))), [], 'the old life is ignored');
    assert.equal(t.get('b')?.incarnation, 11);
  });

  it('a restart of a dead peer is a plain peer:up', () => {
    const t = new PeerTable(W);
    t.observe(seen(0, { incarnation: 10 }));
    t.sweep(600);
    assert.deepEqual(events(t.observe(seen(700, { incarnation: 11 }))), ['peer:up:alive']);
  });

  it('changes of name, addrs, roles, stores or endpoint are peer:updated', () => {
    const t = new PeerTable(W);
    t.observe(seen(0));
    assert.deepEqual(events(t.observe(seen(10, { sequence: 2, stores: ['default'] }))), ['peer:updated:alive']);
    assert.deepEqual(t.get('b')?.stores, ['default']);
    const beta = { stores: ['default'], nodeName: 'beta' };
    assert.deepEqual(events(t.observe(seen(20, { ...beta, sequence: 3 }))), ['peer:updated:alive']);
    const moved = t.observe(seen(30, { ...beta, sequence: 4 }, 'beacon', '127.0.0.1:7000'));
    assert.deepEqual(events(moved), ['peer:updated:alive']);
    assert.deepEqual(events(t.observe(seen(40, { ...beta, sequence: 5 }, 'reply', '127.0.0.1:7000'))), []);
  });

  it('a leave marks the peer dead at once; a leave of an unknown node is ignored', () => {
    const t = new PeerTable(W);
    assert.deepEqual(events(t.observe(seen(0, {}, 'leave'))), []);
    assert.equal(t.size, 0);
    t.observe(seen(0));
    const leave = t.observe(seen(10, { sequence: 2 }, 'leave'));
    assert.deepEqual(events(leave), ['peer:down:dead']);
    assert.equal(leave.fresh, false);
    assert.deepEqual(events({ changes: t.sweep(400) }), [], 'no suspicion of a node that left');
    assert.equal(t.nextDeadline(), 2_010);
    assert.deepEqual(events(t.observe(seen(20, { sequence: 3 }))), ['peer:up:alive'], 'it may come back');
  });

  it('tells which peers need unicast and which endpoints to hint', () => {
    const t = new PeerTable(W);
    t.observe(seen(0, { nodeId: 'g', toGroup: true }, 'beacon', '127.0.0.1:1001'));
    t.observe(seen(5, { nodeId: 'u', toGroup: false }, 'beacon', '127.0.0.1:1002'));
    t.observe(seen(10, { nodeId: 'r', toGroup: false }, 'reply', '127.0.0.1:1003'));
    assert.deepEqual(t.unicastEndpoints(100, W.suspectAfterMs).sort(), ['127.0.0.1:1002', '127.0.0.1:1003']);
    const all = ['127.0.0.1:1001', '127.0.0.1:1002', '127.0.0.1:1003'];
    assert.deepEqual(t.unicastEndpoints(300, W.suspectAfterMs).sort(), all, 'group silent too long');
    assert.deepEqual(t.hintEndpoints('127.0.0.1:1003'), ['127.0.0.1:1002', '127.0.0.1:1001']);
    assert.equal(t.hasEndpoint('127.0.0.1:1002'), true);
    t.sweep(600);
    assert.deepEqual(t.unicastEndpoints(600, W.suspectAfterMs), [], 'not the dead');
    assert.deepEqual(t.hintEndpoints(''), []);
    assert.equal(t.hasEndpoint('127.0.0.1:1002'), false);
  });
});

describe('replay guard', () => {
  it('admits only newer (incarnation, sequence) per node, within its retention', () => {
    const g = new ReplayGuard(1_000);
    assert.equal(g.admit('a', 5, 1, 0), 'new');
    assert.equal(g.admit('a', 5, 1, 1), 'replay', 'the same packet again');
    assert.equal(g.admit('a', 5, 0, 2), 'replay', 'an older one');
    assert.equal(g.admit('a', 5, 3, 3), 'new', 'gaps are fine (packets went elsewhere)');
    assert.equal(g.admit('a', 4, 100, 4), 'replay', 'an older incarnation');
    assert.equal(g.admit('a', 6, 1, 5), 'new', 'a restart');
    assert.equal(g.admit('a', 5, 100, 6), 'replay');
    assert.equal(g.admit('b', 5, 1, 7), 'new', 'per node');
    g.prune(1_005);
    assert.equal(g.size, 1, 'a expired 1000 ms after its last admission, b not yet');
    assert.equal(g.admit('a', 1, 1, 1_006), 'new', 'after retention, anything fresh enough is new again');
  });
});
