import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { createSocket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import { GossipDiscovery, type DiscoveryInit, type PeerInfo } from '../../src/discovery/index.ts';
import { Keyring } from '../../src/discovery/keyring.ts';
import { PacketCodec } from '../../src/discovery/packet-codec.ts';
import { MESSAGE_KIND } from '../../src/discovery/wire-format.ts';
import { UnavailableError } from '../../src/errors/index.ts';
import { samplePayload } from './support/payloads.ts';
import { captureLogger, freeUdpPort, randomGroup, randomPort, rawSocket, sleep, waitFor } from './support/udp.ts';

const SECRET = 'in-process-secret-0123456789';
/** Long enough that nothing in a test can rely on a periodic beacon: what arrives was sent at once. */
const NEVER_MS = 60_000;

const running: GossipDiscovery[] = [];
after(async () => {
  await Promise.all(running.map((d) => d.stop()));
});

function node(nodeId: string, init: Partial<DiscoveryInit>, components = {}): GossipDiscovery {
  const d = new GossipDiscovery(components, {
    clusterName: 'in-process',
    nodeId,
    incarnation: 1,
    secrets: { primary: SECRET },
    ...init,
  });
  running.push(d);
  return d;
}

function alive(d: GossipDiscovery, nodeId: string): PeerInfo | undefined {
  return d.peers().find((p) => p.nodeId === nodeId && p.state === 'alive');
}

function resources(kind: string): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length;
}

describe('gossip discovery in one process, real UDP on 127.0.0.1', () => {
  it('two nodes find each other over loopback multicast with what they advertise', async () => {
    const shared = { port: randomPort(), group: randomGroup(), intervalMs: NEVER_MS };
    let stores = ['default'];
    const a = node('node-a', {
      ...shared,
      nodeName: 'alpha',
      incarnation: 7,
      advertise: () => ({ addrs: ['/ip4/127.0.0.1/tcp/45893'], roles: ['store'], stores }),
    });
    const b = node('node-b', { ...shared, nodeName: 'beta' });
    const ups: PeerInfo[] = [];
    b.on('peer:up', (peer) => ups.push(peer));
    await a.start();
    await b.start();
    // One beacon each at start and prompt replies: no periodic beacon is due for a minute.
    const seenByB = await waitFor('b to see a', () => alive(b, 'node-a'));
    await waitFor('a to see b', () => alive(a, 'node-b'));
    assert.deepEqual(
      { ...seenByB, lastSeen: undefined },
      {
        nodeId: 'node-a',
        name: 'alpha',
        addrs: ['/ip4/127.0.0.1/tcp/45893'],
        state: 'alive',
        lastSeen: undefined,
        incarnation: 7,
        roles: ['store'],
        stores: ['default'],
        truncated: false,
        endpoint: a.self().endpoint,
      },
    );
    assert.ok(Math.abs(Date.parse(seenByB.lastSeen) - Date.now()) < 60_000);
    assert.deepEqual(ups.map((p) => p.nodeId), ['node-a']);
    assert.ok(a.stats().beaconsSent >= 2 && b.stats().beaconsReceived >= 1);
    assert.ok(a.stats().dropped.self >= 1, 'multicast loops our own beacon back: dropped as self');

    const updates: PeerInfo[] = [];
    b.on('peer:updated', (peer) => updates.push(peer));
    stores = ['default', 'orders'];
    a.refresh();
    await waitFor('the refreshed stores', () => updates.find((p) => p.stores.length === 2));
    assert.deepEqual(b.peer('node-a')?.stores, ['default', 'orders']);
    assert.deepEqual(a.self().stores, ['default', 'orders']);

    const downs: PeerInfo[] = [];
    b.on('peer:down', (peer) => downs.push(peer));
    await a.stop();
    const down = await waitFor('b to hear a leave', () => downs[0]);
    assert.equal(down.nodeId, 'node-a');
    assert.equal(b.peer('node-a')?.state, 'dead');
    await a.stop();

    await a.start();
    await waitFor('a back after a restart of the same object', () => alive(b, 'node-a'));
  });

  it('stop is idempotent and leaves no socket or timer behind', async () => {
    const udpBefore = resources('UDPWrap');
    // Timers discovery creates (unref'd, so invisible to getActiveResourcesInfo), until they fire or are cleared.
    const pendingTimers = new Set<number>();
    const hook = createHook({
      init(asyncId, type) {
        if (type === 'Timeout' && new Error().stack?.includes('gossip-discovery.ts')) pendingTimers.add(asyncId);
      },
      destroy(asyncId) {
        pendingTimers.delete(asyncId);
      },
    }).enable();
    const shared = { port: randomPort(), group: randomGroup(), intervalMs: 50 };
    const a = node('node-a', shared);
    const b = node('node-b', shared);
    await Promise.all([a.start(), b.start()]);
    await waitFor('a to see b', () => alive(a, 'node-b'));
    assert.ok(resources('UDPWrap') >= udpBefore + 6, 'group, port and send sockets for each node');
    await Promise.all([a.stop(), b.stop(), a.stop()]);
    await b.stop();
    await sleep(20);
    hook.disable();
    assert.equal(resources('UDPWrap'), udpBefore);
    assert.deepEqual([...pendingTimers], [], 'beacon, sweep and leave timers are all cleared');
    assert.deepEqual(a.peers(), []);
  });

  it('broadcast-only nodes find each other through the loopback broadcast address', async () => {
    const shared = { port: randomPort(), broadcastOnly: true, group: '127.255.255.255', intervalMs: NEVER_MS };
    const a = node('node-a', shared);
    const b = node('node-b', shared);
    await a.start();
    await b.start();
    await waitFor('b to see a', () => alive(b, 'node-a'));
    await waitFor('a to see b', () => alive(a, 'node-b'));
    await Promise.all([a.stop(), b.stop()]);
  });

  it('drops stale packets, counts our own, and keeps the table clean', async () => {
    const port = await freeUdpPort();
    const a = node('node-a', { multicast: false, port, intervalMs: NEVER_MS, maxClockSkewMs: 1_000 });
    await a.start();
    const codec = new PacketCodec('in-process', new Keyring('in-process', { primary: SECRET }));
    const sender = await rawSocket();
    const send = async (overrides: Parameters<typeof samplePayload>[0]): Promise<void> => {
      const payload = samplePayload({ clusterName: 'in-process', nodeId: 'node-x', ...overrides });
      await sender.send(codec.seal(MESSAGE_KIND.beacon, payload).datagram, port);
    };
    await send({ timestamp: Date.now() - 5_000, sequence: 1 });
    await send({ timestamp: Date.now() + 5_000, sequence: 2 });
    await send({ nodeId: 'node-a', incarnation: 1, sequence: 3 });
    await waitFor('three drops', () => a.stats().dropped.stale === 2 && a.stats().dropped.self === 1);
    assert.deepEqual(a.peers(), []);
    await send({ sequence: 4 });
    await waitFor('a fresh packet accepted', () => alive(a, 'node-x'));
    await sender.close();
    await a.stop();
  });

  it('drops sealed packets from node ids the node cannot use, before they reach its table', async () => {
    const port = await freeUdpPort();
    const asked: string[] = [];
    const a = node('node-a', { multicast: false, port, intervalMs: NEVER_MS }, {
      acceptsNodeId: (id: string) => {
        asked.push(id);
        return id.startsWith('good-');
      },
    });
    await a.start();
    const codec = new PacketCodec('in-process', new Keyring('in-process', { primary: SECRET }));
    const sender = await rawSocket();
    const send = async (nodeId: string, sequence: number): Promise<void> => {
      await sender.send(codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: 'in-process', nodeId, sequence })).datagram, port);
    };
    await send('not-a-peer-id', 1);
    await waitFor('the packet dropped as malformed', () => a.stats().dropped.malformed === 1);
    assert.deepEqual(a.peers(), []);
    await send('good-1', 2);
    await send('good-1', 3);
    await waitFor('the good sender accepted', () => alive(a, 'good-1'));
    assert.deepEqual(asked, ['not-a-peer-id', 'good-1'], 'each id checked once, not per packet');
    await sender.close();
    await a.stop();
  });

  it('keeps a peer\'s address when its unicast packets are replayed from elsewhere', async () => {
    const port = await freeUdpPort();
    const a = node('node-a', { multicast: false, port, intervalMs: NEVER_MS });
    await a.start();
    const codec = new PacketCodec('in-process', new Keyring('in-process', { primary: SECRET }));
    const real = await rawSocket();
    const replayer = await rawSocket();
    const updates: string[] = [];
    a.on('peer:updated', (peer) => updates.push(peer.endpoint));
    const packet = (sequence: number) =>
      codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: 'in-process', nodeId: 'node-x', sequence, toGroup: false })).datagram;
    await real.send(packet(1), port);
    await waitFor('node-x known at its real address', () => alive(a, 'node-x')?.endpoint === `127.0.0.1:${real.port}`);
    // Node-x's packets to another host (sequences a has not seen) come back from that host, between its own.
    for (let sequence = 2; sequence <= 9; sequence += 2) {
      await replayer.send(packet(sequence), port);
      await real.send(packet(sequence + 1), port);
    }
    await waitFor('every packet taken', () => a.stats().beaconsReceived === 9);
    assert.equal(a.peer('node-x')?.endpoint, `127.0.0.1:${real.port}`, 'the replayer never became its address');
    assert.deepEqual(updates, [], 'and nothing flapped');
    await real.close();
    await replayer.close();
    await a.stop();
  });

  it('takes a peer\'s new address once its old one has gone quiet', async () => {
    const port = await freeUdpPort();
    const a = node('node-a', { multicast: false, port, intervalMs: 100 });
    await a.start();
    const codec = new PacketCodec('in-process', new Keyring('in-process', { primary: SECRET }));
    const before = await rawSocket();
    const after = await rawSocket();
    const packet = (sequence: number) =>
      codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: 'in-process', nodeId: 'node-y', sequence, toGroup: false })).datagram;
    await before.send(packet(1), port);
    await waitFor('node-y known', () => alive(a, 'node-y')?.endpoint === `127.0.0.1:${before.port}`);
    await sleep(300); // its old address quiet for longer than the probe delay (1.2 intervals)
    await after.send(packet(2), port);
    await waitFor('node-y at its new address', () => a.peer('node-y')?.endpoint === `127.0.0.1:${after.port}`);
    await before.close();
    await after.close();
    await a.stop();
  });

  it('survives a throwing listener and a throwing advertise()', async () => {
    const { logger, lines } = captureLogger('warn');
    const shared = { port: randomPort(), group: randomGroup(), intervalMs: 50 };
    let fail = false;
    const a = node('node-a', {
      ...shared,
      advertise: () => {
        if (fail) throw new Error('no stores today');
        return { addrs: [], roles: [], stores: ['default', 'bad store id'] };
      },
    }, { logger });
    const b = node('node-b', shared, { logger });
    b.on('peer:up', () => {
      throw new Error('listener bug');
    });
    await Promise.all([a.start(), b.start()]);
    await waitFor('b to see a despite its listener', () => alive(b, 'node-a'));
    assert.deepEqual(b.peer('node-a')?.stores, ['default'], 'the invalid store id is left out');
    fail = true;
    const before = b.stats().beaconsReceived;
    await waitFor('beacons after advertise() throws', () => b.stats().beaconsReceived > before + 2);
    assert.deepEqual(b.peer('node-a')?.stores, ['default'], 'the last good advertisement goes on');
    await waitFor('the warnings', () => lines.length >= 3);
    const messages = lines.map((l) => l['msg']);
    assert.ok(messages.includes('a discovery event listener threw'));
    assert.ok(messages.includes('advertise() returned items gossip cannot carry'));
    assert.ok(messages.includes('advertise() threw; beaconing what it returned last'));
    const threw = messages.filter((m) => m === 'advertise() threw; beaconing what it returned last');
    assert.equal(threw.length, 1, 'rate limited');
    await Promise.all([a.stop(), b.stop()]);
  });

  it('warns once without a secret, and rate-limits drop logs', async () => {
    const { logger, lines } = captureLogger('debug');
    const port = await freeUdpPort();
    const a = node('node-a', { multicast: false, port, secrets: undefined, intervalMs: NEVER_MS }, { logger });
    await a.start();
    assert.equal(lines.filter((l) => String(l['msg']).startsWith('gossip runs without a cluster secret')).length, 1);
    const sender = await rawSocket();
    for (let i = 0; i < 200; i += 1) await sender.send(Buffer.from(`junk ${i}, long enough to be a header...`), port);
    await waitFor('200 drops', () => a.stats().dropped.malformed === 200);
    const dropLines = lines.filter((l) => l['msg'] === 'gossip packet dropped');
    assert.equal(dropLines.length, 1, 'one line per reason per window');
    assert.equal(dropLines[0]?.['reason'], 'malformed');
    await sender.close();
    await a.stop();
  });

  it('fails to start with an UnavailableError when its port is taken, and can still be stopped', async () => {
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', () => resolve()));
    const a = node('node-a', { multicast: false, port: holder.address().port });
    await assert.rejects(a.start(), (err: unknown) => err instanceof UnavailableError && /EADDRINUSE/.test(err.message));
    await a.stop();
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  });
});
