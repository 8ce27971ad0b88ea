/**
 * Direct probes of silent peers. First on a fake clock: one observer's peer table watches one peer whose beacons,
 * probes and acks cross a lossy link, each datagram lost at random (a seeded generator, so every run is the same).
 * Time jumps from one event to the next (a beacon or an ack arriving, or the table's own deadline), so an hour of
 * gossip takes milliseconds and every instant is exact. Then over real UDP on 127.0.0.1, against a peer played by a
 * socket of the test that beacons once and then only answers probes.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import type { MembershipWindows } from '../../src/discovery/failure-detector.ts';
import { GossipDiscovery, type PeerInfo } from '../../src/discovery/index.ts';
import { Keyring } from '../../src/discovery/keyring.ts';
import { PacketCodec } from '../../src/discovery/packet-codec.ts';
import { PeerTable } from '../../src/discovery/peer-table.ts';
import { MESSAGE_KIND, type MessageKindName } from '../../src/discovery/wire-format.ts';
import { samplePayload } from './support/payloads.ts';
import { freeUdpPort, sleep, waitFor } from './support/udp.ts';

const INTERVAL_MS = 1_000;
/** The defaults of discovery-config.ts for a 1 s interval. */
const DEFAULTS: MembershipWindows = {
  suspectAfterMs: 3_000,
  deadAfterMs: 5_000,
  forgetAfterMs: 60_000,
  probeAfterMs: 1_500,
  probeIntervalMs: 250,
};
/** The same detector with probing off: what discovery did before probes. */
const WITHOUT_PROBES: MembershipWindows = { ...DEFAULTS, probeAfterMs: Number.POSITIVE_INFINITY };
const HOUR_MS = 3_600_000;
const WALL = Date.UTC(2030, 0, 1);

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Link {
  /** Probability that one beacon of the peer is lost on its way to the observer. */
  readonly beaconLoss: number;
  /** Probability that one probe, then one ack, is lost. */
  readonly probeLoss: number;
  readonly ackLoss: number;
  /** Whether the peer runs (beacons and answers) at time `now`. @default always */
  readonly alive?: (now: number) => boolean;
}

interface Run {
  /** `suspect@t`, `dead@t`, `alive@t` (back from suspect or dead), in order. */
  readonly transitions: string[];
  readonly probeTimes: number[];
  readonly acks: number;
}

/** An observer watching one peer over `link` for `durationMs`, starting with the peer just heard at 0. */
function simulate(windows: MembershipWindows, link: Link, durationMs: number, seed: number): Run {
  const random = seeded(seed);
  const table = new PeerTable(windows);
  const queue: Array<{ at: number; kind: MessageKindName }> = [];
  const runs = link.alive ?? (() => true);
  const transitions: string[] = [];
  const probeTimes: number[] = [];
  let acks = 0;
  let sequence = 0;
  const latency = (): number => 1 + random() * 4;
  const deliver = (now: number, kind: MessageKindName): void => {
    sequence += 1;
    const payload = samplePayload({ nodeId: 'b', sequence, toGroup: kind === 'beacon' });
    const result = table.observe({ kind, payload, endpoint: '10.0.0.2:45892', now, wallNow: WALL + now });
    // The payload never changes, so past the first packet a change is a return from suspect or dead.
    if (now > 0 && result.changes.length > 0) transitions.push(`alive@${now}`);
  };
  deliver(0, 'beacon');
  let nextBeacon = INTERVAL_MS * (0.8 + 0.4 * random());
  for (;;) {
    const deadline = table.nextDeadline() ?? Number.POSITIVE_INFINITY;
    queue.sort((x, y) => x.at - y.at);
    const arrival = queue[0]?.at ?? Number.POSITIVE_INFINITY;
    const now = Math.min(deadline, arrival, nextBeacon);
    if (now > durationMs) break;
    if (now === nextBeacon) {
      if (runs(now) && random() >= link.beaconLoss) queue.push({ at: now + latency(), kind: 'beacon' });
      nextBeacon = now + INTERVAL_MS * (0.8 + 0.4 * random());
    } else if (now === arrival) {
      const { kind } = queue.shift() ?? { kind: 'beacon' };
      if (kind === 'ack') acks += 1;
      deliver(now, kind);
    } else {
      for (const c of table.sweep(now)) transitions.push(`${c.peer.state}@${now}`);
      for (const probe of table.dueProbes(now)) {
        assert.equal(probe.endpoint, '10.0.0.2:45892');
        probeTimes.push(now);
        const reached = random() >= link.probeLoss;
        const answered = random() >= link.ackLoss;
        if (reached && runs(now) && answered) queue.push({ at: now + 2 * latency(), kind: 'ack' });
      }
    }
  }
  return { transitions, probeTimes, acks };
}

function count(run: Run, state: string): number {
  return run.transitions.filter((t) => t.startsWith(`${state}@`)).length;
}

describe('direct probes of silent peers, on a fake clock', () => {
  it('a peer whose beacons are all lost but whose acks arrive never goes dead (an hour, 20 % loss each way)', () => {
    const lossy: Link = { beaconLoss: 1, probeLoss: 0.2, ackLoss: 0.2 };
    const run = simulate(DEFAULTS, lossy, HOUR_MS, 7);
    assert.equal(count(run, 'dead'), 0, run.transitions.join(' '));
    assert.ok(run.acks > 1_000, `${run.acks} acks kept it alive`);
    // Six probes in a row lost before suspicion: 0.36⁶ ≈ 0.2 % of ~2,000 silences.
    assert.ok(count(run, 'suspect') < 20, `${count(run, 'suspect')} suspicions`);
    // The detector without probes, on the same link: dead within its first five seconds, and never back.
    assert.deepEqual(simulate(WITHOUT_PROBES, lossy, HOUR_MS, 7).transitions, ['suspect@3000', 'dead@5000']);
  });

  it('a peer that answers nothing is probed until its dead window ends, and dies exactly on time', () => {
    const killedAt = 10_000;
    const killed: Link = { beaconLoss: 0, probeLoss: 0, ackLoss: 0, alive: (now) => now < killedAt };
    const run = simulate(DEFAULTS, killed, 80_000, 3);
    const [suspect, dead, ...rest] = run.transitions;
    assert.deepEqual(rest, [], 'no flap before, and nothing after (forgotten 60 s after it was last heard)');
    const lastHeard = Number(suspect?.split('@')[1]) - DEFAULTS.suspectAfterMs;
    assert.ok(lastHeard < killedAt && lastHeard > killedAt - 1.2 * INTERVAL_MS - 5, `last heard at ${lastHeard}`);
    assert.equal(dead, `dead@${lastHeard + DEFAULTS.deadAfterMs}`);
    const expected: number[] = [];
    const { probeAfterMs, probeIntervalMs, deadAfterMs } = DEFAULTS;
    for (let at = lastHeard + probeAfterMs; at < lastHeard + deadAfterMs; at += probeIntervalMs) expected.push(at);
    assert.equal(expected.length, 14);
    assert.deepEqual(run.probeTimes.filter((t) => t > lastHeard), expected, 'then no probe of the dead');
    const healthy = run.probeTimes.filter((t) => t <= lastHeard);
    assert.deepEqual(healthy, [], 'a healthy peer, heard every interval, is never probed');
  });

  it('20 ordered pairs with 20 % loss on every datagram for an hour: suspicions are rare and no one dies', () => {
    // The chaos-loss test's setting (five hosts, each dropping a fifth of what it receives), simulated much longer.
    const link: Link = { beaconLoss: 0.2, probeLoss: 0.2, ackLoss: 0.2 };
    const totals = { probed: { suspect: 0, dead: 0 }, unprobed: { suspect: 0, dead: 0 } };
    for (let pair = 1; pair <= 20; pair += 1) {
      const probed = simulate(DEFAULTS, link, HOUR_MS, pair);
      const unprobed = simulate(WITHOUT_PROBES, link, HOUR_MS, pair);
      totals.probed.suspect += count(probed, 'suspect');
      totals.probed.dead += count(probed, 'dead');
      totals.unprobed.suspect += count(unprobed, 'suspect');
      totals.unprobed.dead += count(unprobed, 'dead');
    }
    const { probed, unprobed } = totals;
    const [withProbes, without] = [JSON.stringify(probed), JSON.stringify(unprobed)];
    console.log(`# 20 pair-hours at 20 % loss: with probes ${withProbes}, without ${without}`);
    assert.ok(unprobed.dead > 20, 'the loss is enough to kill peers of a detector without probes');
    assert.equal(probed.dead, 0);
    assert.ok(probed.suspect * 20 < unprobed.suspect, 'probes prevent nearly every suspicion');
  });
});

const CLUSTER = 'probes';
const SECRET = 'probe-test-secret-0123456789';
const KIND_NAMES = new Map<number, MessageKindName>(
  Object.entries(MESSAGE_KIND).map(([name, kind]) => [kind, name as MessageKindName]),
);

/** A peer played by the test: a socket that seals what it sends as node `node-x`, and answers probes while told to. */
async function fakePeer(): Promise<{
  readonly received: Array<{ kind: MessageKindName; nodeId: string; hints: number }>;
  answering: boolean;
  send(kind: MessageKindName, port: number): Promise<Buffer>;
  sendRaw(datagram: Buffer, port: number): Promise<void>;
  close(): Promise<void>;
}> {
  const codec = new PacketCodec(CLUSTER, new Keyring(CLUSTER, { primary: SECRET }));
  const socket = createSocket('udp4');
  let sequence = 0;
  const seal = (kind: MessageKindName): Buffer => {
    sequence += 1;
    const payload = samplePayload({
      clusterName: CLUSTER,
      nodeId: 'node-x',
      incarnation: 1,
      sequence,
      toGroup: false,
      timestamp: Date.now(),
    });
    return codec.seal(MESSAGE_KIND[kind], payload).datagram;
  };
  const sendRaw = (datagram: Buffer, port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      socket.send(datagram, port, '127.0.0.1', (err) => (err ? reject(err) : resolve()));
    });
  const peer = {
    received: [] as Array<{ kind: MessageKindName; nodeId: string; hints: number }>,
    answering: true,
    send: async (kind: MessageKindName, port: number): Promise<Buffer> => {
      const datagram = seal(kind);
      await sendRaw(datagram, port);
      return datagram;
    },
    sendRaw,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (data, from) => {
    const opened = codec.open(data);
    if (!opened.ok) return;
    const kind = KIND_NAMES.get(opened.kind) ?? 'beacon';
    peer.received.push({ kind, nodeId: opened.payload.nodeId, hints: opened.payload.hints.length });
    if (kind === 'probe' && peer.answering) void sendRaw(seal('ack'), from.port);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return peer;
}

describe('direct probes over real UDP on 127.0.0.1', () => {
  const running: Array<{ stop(): Promise<void> } | { close(): Promise<void> }> = [];
  after(async () => {
    await Promise.all(running.map((r) => ('stop' in r ? r.stop() : r.close())));
  });

  async function observer(timing: Record<string, number>): Promise<{ a: GossipDiscovery; port: number }> {
    const port = await freeUdpPort();
    const a = new GossipDiscovery({}, {
      clusterName: CLUSTER,
      nodeId: 'node-a',
      incarnation: 1,
      secrets: { primary: SECRET },
      multicast: false,
      port,
      ...timing,
    });
    running.push(a);
    await a.start();
    return { a, port };
  }

  it('a peer that stopped beaconing but answers probes stays alive; once it answers nothing it dies', async () => {
    // Generous windows for a shared 2-core machine: a stall of the test process under 700 ms cannot make x suspect.
    const timing = {
      intervalMs: 200,
      probeAfterMs: 300,
      probeIntervalMs: 50,
      suspectAfterMs: 1_000,
      deadAfterMs: 2_000,
    };
    const { a, port } = await observer(timing);
    const x = await fakePeer();
    running.push(x);
    await x.send('beacon', port);
    await waitFor('a to see x', () => a.peer('node-x')?.state === 'alive');
    const changes: string[] = [];
    const record = (peer: PeerInfo): void => void changes.push(peer.state);
    a.on('peer:updated', record);
    a.on('peer:down', record);

    // x never beacons again: without probes it would be suspect after 1 s and dead after 2 s.
    await sleep(timing.deadAfterMs + 1_000);
    assert.deepEqual(changes, [], 'never suspect nor dead');
    const kinds = (kind: MessageKindName): number => x.received.filter((r) => r.kind === kind).length;
    // One probe per 300 ms of silence, each answered at once: about ten in 3 s.
    assert.ok(kinds('probe') >= 5, `${kinds('probe')} probes`);
    assert.ok(a.stats().acksReceived >= 5 && a.stats().probesSent >= kinds('probe'));
    assert.ok(kinds('beacon') >= 5, 'a beacons x too, and x does not answer beacons');
    assert.ok(x.received.every((r) => r.nodeId === 'node-a' && (r.kind !== 'probe' || r.hints === 0)));

    x.answering = false;
    await waitFor('x dead', () => a.peer('node-x')?.state === 'dead', 10_000);
    assert.deepEqual(changes, ['suspect', 'dead']);
    const probesAtDeath = kinds('probe');
    await sleep(10 * timing.probeIntervalMs);
    assert.equal(kinds('probe'), probesAtDeath, 'the dead are not probed');
  });

  it('acks every fresh probe at once, and a replayed probe not at all', async () => {
    const { a, port } = await observer({ intervalMs: 60_000 });
    const x = await fakePeer();
    running.push(x);
    const acks = (): number => x.received.filter((r) => r.kind === 'ack').length;
    const probe = await x.send('probe', port);
    await waitFor('the ack', () => acks() === 1);
    assert.equal(a.peer('node-x')?.state, 'alive', 'a probe is heard like any packet of a member');
    await x.sendRaw(probe, port);
    await waitFor('the replay dropped', () => a.stats().dropped.replay === 1);
    await x.send('probe', port);
    // Loopback keeps the order of one socket's datagrams: an ack of the replay would have come before this one.
    await waitFor('the ack of the fresh probe', () => acks() >= 2);
    await sleep(20);
    assert.equal(acks(), 2);
    assert.equal(a.stats().acksReceived, 0, 'nothing a probed');
  });
});
