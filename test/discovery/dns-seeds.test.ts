/**
 * Seeds given as DNS names, resolved for real: a tiny DNS server on 127.0.0.1 holds a name with several A records (a
 * headless Service's name stands for all its pods), and discovery's resolver is a `dns.Resolver` pointed at it. The
 * name resolves to all its addresses, is resolved again every round (a pod added to the record is found; one removed
 * is no longer beaconed), and a failed lookup keeps the last addresses. Nodes bind distinct loopback addresses
 * (127.0.0.2, 127.0.0.3, ...) on one port, as pods do on one port at distinct IPs.
 */
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';
import { GossipDiscovery, SeedResolver, type PeerInfo, type ResolveHost } from '../../src/discovery/index.ts';
import { TinyDnsServer } from './support/dns-server.ts';
import { freeUdpPort, sleep, waitFor } from './support/udp.ts';

const NAME = 'gater-peers.gater.svc.cluster.test';
const SECRET = 'dns-seed-secret-0123456789';
const INTERVAL_MS = 100;

describe('seeds given as DNS names', () => {
  const dns = new TinyDnsServer();
  let resolveHost: ResolveHost;
  const running: GossipDiscovery[] = [];

  before(async () => {
    await dns.start();
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([dns.server]);
    resolveHost = (host) => resolver.resolve4(host);
  });
  after(async () => {
    await Promise.all(running.map((d) => d.stop()));
    await dns.stop();
  });

  it('resolve to every address, again on each refresh, and keep the last addresses when a lookup fails', async () => {
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3']);
    const fresh: string[][] = [];
    const seeds = new SeedResolver(
      { resolveHost },
      { seeds: [{ host: NAME, port: 45_892 }, { host: '127.0.0.9', port: 45_892 }], onNew: (e) => fresh.push(e.map((x) => x.host)) },
    );
    assert.deepEqual(seeds.endpoints(), [{ host: '127.0.0.9', port: 45_892 }], 'an address seed needs no lookup');
    await seeds.resolve({ host: NAME, port: 45_892 });
    assert.deepEqual(seeds.endpoints().map((e) => e.host).sort(), ['127.0.0.2', '127.0.0.3', '127.0.0.9']);
    dns.records.set(NAME, ['127.0.0.3', '127.0.0.4']);
    await seeds.resolve({ host: NAME, port: 45_892 });
    assert.deepEqual(seeds.endpoints().map((e) => e.host).sort(), ['127.0.0.3', '127.0.0.4', '127.0.0.9']);
    assert.deepEqual(fresh, [['127.0.0.2', '127.0.0.3'], ['127.0.0.4']]);
    dns.records.delete(NAME);
    await seeds.resolve({ host: NAME, port: 45_892 });
    assert.deepEqual(seeds.endpoints().map((e) => e.host).sort(), ['127.0.0.3', '127.0.0.4', '127.0.0.9'], 'NXDOMAIN keeps the last answer');
    assert.ok(dns.queries.filter((q) => q === NAME).length >= 3, 'every resolve asked the server');
  });

  it('are resolved again when discovery is stopped and started again', async () => {
    dns.records.set(NAME, ['127.0.0.2']);
    const d = new GossipDiscovery(
      { resolveHost },
      { clusterName: 'dns', nodeId: 'restarted', incarnation: 1, secrets: { primary: SECRET }, port: await freeUdpPort(), multicast: false, seeds: [`${NAME}:45892`], intervalMs: INTERVAL_MS },
    );
    running.push(d);
    const asked = () => dns.queries.filter((q) => q === NAME).length;
    await d.start();
    await waitFor('a first lookup', () => asked() > 0);
    await d.stop();
    const before = asked();
    await d.start();
    // Before: the resolver stayed stopped, and the node beaconed the addresses of its first life forever.
    await waitFor('lookups again after the restart', () => asked() > before);
    await d.stop();
  });

  it('lets a node find the pods behind one name, and new pods as the name gains them', async () => {
    const port = await freeUdpPort();
    const node = (nodeId: string, bindAddress: string, seeds: string[] = []): GossipDiscovery => {
      const d = new GossipDiscovery(
        { resolveHost },
        { clusterName: 'dns', nodeId, incarnation: 1, secrets: { primary: SECRET }, port, bindAddress, multicast: false, seeds, intervalMs: INTERVAL_MS },
      );
      running.push(d);
      return d;
    };
    const alive = (d: GossipDiscovery, id: string): PeerInfo | undefined => d.peers().find((p) => p.nodeId === id && p.state === 'alive');
    dns.records.set(NAME, ['127.0.0.2']);
    const seeker = node('seeker', '127.0.0.1', [`${NAME}:${port}`]);
    const pod2 = node('pod-2', '127.0.0.2');
    const pod3 = node('pod-3', '127.0.0.3');
    await pod2.start();
    await pod3.start();
    await seeker.start();
    await waitFor('the seeker to find pod-2 through the name', () => alive(seeker, 'pod-2'));
    await waitFor('pod-2 to find the seeker', () => alive(pod2, 'seeker'));
    // pod-3 is not behind the name yet: several rounds later nobody has beaconed it.
    await sleep(INTERVAL_MS * 5);
    assert.equal(alive(seeker, 'pod-3'), undefined);
    assert.equal(alive(pod3, 'seeker'), undefined);

    dns.records.set(NAME, ['127.0.0.2', '127.0.0.3']);
    await waitFor('the seeker to find pod-3 once the name resolves to it', () => alive(seeker, 'pod-3'));
    await waitFor('pod-3 to find the seeker', () => alive(pod3, 'seeker'));
  });
});
