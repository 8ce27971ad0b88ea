/**
 * The sync protocol's logic over an in-memory bus that loses messages on purpose. The real proof — processes on a
 * libp2p mesh — is in test/cluster.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeRegistryMessage, encodeRegistryMessage, RegistryMessageKind, type RegistryMessage } from '../../src/registry/record-codec.ts';
import type { NodeRecord } from '../../src/registry/node-record.ts';
import { RegistrySync, type RegistryTransport } from '../../src/registry/registry-sync.ts';
import { WorkerRegistry } from '../../src/registry/worker-registry.ts';

class LossyBus {
  readonly subscribers = new Map<string, (bytes: Uint8Array, from: string) => void>();
  readonly responders = new Map<string, (bytes: Uint8Array, from: string) => Promise<Uint8Array>>();
  dropPublishes = false;

  transportFor(peerId: string): RegistryTransport {
    return {
      publish: async (bytes) => {
        if (this.dropPublishes) return;
        for (const [id, handler] of this.subscribers) if (id !== peerId) queueMicrotask(() => handler(bytes, peerId));
      },
      onMessage: (handler) => {
        this.subscribers.set(peerId, handler);
        return () => this.subscribers.delete(peerId);
      },
      request: async (target, bytes) => {
        const responder = this.responders.get(target);
        if (responder === undefined) throw new Error('unreachable');
        return responder(bytes, peerId);
      },
      onRequest: (handler) => {
        this.responders.set(peerId, handler);
        return () => this.responders.delete(peerId);
      },
    };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RegistrySync', () => {
  it('converges through digests after every published message was lost', async () => {
    const bus = new LossyBus();
    bus.dropPublishes = true;
    const nodes = ['a', 'b', 'c'].map((id) => {
      const registry = new WorkerRegistry({}, { nodeId: id, incarnation: 1 });
      const sync = new RegistrySync({ registry, transport: bus.transportFor(id) }, { digestIntervalMs: 20 });
      return { id, registry, sync };
    });
    for (const n of nodes) n.sync.start();
    for (const n of nodes) n.registry.registerLocal({ store: `s-${n.id}`, workerId: `w-${n.id}`, addrs: [], backend: 'sqlite', startedAt: 't' });
    await sleep(50);
    assert.equal(nodes[0]!.registry.entries().length, 1, 'nothing arrived while publishes were lost');
    bus.dropPublishes = false;
    for (let i = 0; i < 100 && !nodes.every((n) => n.registry.entries().length === 3); i++) await sleep(10);
    for (const n of nodes) assert.deepEqual([...n.registry.stores().keys()], ['s-a', 's-b', 's-c']);
    for (const n of nodes) n.sync.stop();
  });

  it('a full exchange brings a new peer everything at once, third parties included', async () => {
    const bus = new LossyBus();
    bus.dropPublishes = true;
    const a = new WorkerRegistry({}, { nodeId: 'a' });
    const b = new WorkerRegistry({}, { nodeId: 'b' });
    a.apply({ nodeId: 'z', incarnation: 1, version: 1, entries: [{ store: 'z', workerId: 'wz', nodeId: 'z', addrs: [], backend: 'sqlite', startedAt: 't' }] });
    a.registerLocal({ store: 'sa', workerId: 'wa', addrs: [], backend: 'sqlite', startedAt: 't' });
    const syncA = new RegistrySync({ registry: a, transport: bus.transportFor('a') }, { digestIntervalMs: 60_000 });
    const syncB = new RegistrySync({ registry: b, transport: bus.transportFor('b') }, { digestIntervalMs: 60_000 });
    syncA.start();
    syncB.start();
    b.registerLocal({ store: 'sb', workerId: 'wb', addrs: [], backend: 'sqlite', startedAt: 't' });
    await syncB.exchangeWith('a');
    assert.deepEqual([...b.stores().keys()], ['sa', 'sb', 'z']);
    assert.deepEqual([...a.stores().keys()], ['sa', 'sb', 'z'], 'the exchange goes both ways');
    syncA.stop();
    syncB.stop();
  });

  it('does not believe a published record about another node', async () => {
    const bus = new LossyBus();
    const victim = new WorkerRegistry({}, { nodeId: 'v' });
    const sync = new RegistrySync({ registry: victim, transport: bus.transportFor('v') }, { digestIntervalMs: 60_000 });
    sync.start();
    const forged = encodeRegistryMessage({
      kind: RegistryMessageKind.Record,
      record: { nodeId: 'someone-else', incarnation: 9, version: 9, entries: [{ store: 'x', workerId: 'w', nodeId: 'someone-else', addrs: [], backend: 'sqlite', startedAt: 't' }] },
    });
    bus.subscribers.get('v')!(forged, 'mallory');
    assert.equal(victim.entries().length, 0);
    assert.equal(sync.stats().dropped, 1);
    sync.stop();
  });
});

describe('RegistrySync with a membership (records believed only for nodes discovery reports alive)', () => {
  const record = (nodeId: string, incarnation = 1, version = 1): NodeRecord => ({
    nodeId,
    incarnation,
    version,
    entries: [{ store: `s-${nodeId}`, workerId: `w-${nodeId}`, nodeId, addrs: [], backend: 'sqlite', startedAt: 't' }],
  });

  function harness(graceMs = 1_000) {
    const bus = new LossyBus();
    const live = new Map<string, number>();
    let now = 0;
    const registry = new WorkerRegistry({}, { nodeId: 'me' });
    const sync = new RegistrySync(
      { registry, transport: bus.transportFor('me'), membership: { liveIncarnation: (id) => live.get(id) }, now: () => now },
      { digestIntervalMs: 60_000, unconfirmedGraceMs: graceMs },
    );
    sync.start();
    const deliver = (records: NodeRecord[]) =>
      bus.subscribers.get('me')!(encodeRegistryMessage({ kind: RegistryMessageKind.Records, records }), 'peer');
    return { registry, sync, live, deliver, advance: (ms: number) => (now += ms) };
  }

  it('holds a record of a node discovery does not report out of the view and the digest, releases it when it does', () => {
    const h = harness();
    h.deliver([record('n')]);
    assert.deepEqual(h.registry.entries(), []);
    assert.deepEqual(h.registry.digest().map((s) => s.nodeId), ['me'], 'not passed on');
    assert.equal(h.sync.stats().held, 1);
    h.live.set('n', 1);
    h.sync.peerAlive('n');
    assert.deepEqual(h.registry.entries().map((e) => e.nodeId), ['n']);
    assert.equal(h.sync.stats().held, 0);
    h.sync.stop();
  });

  it('drops a record held beyond the grace and refuses its copies; a later life is held afresh', () => {
    const h = harness(1_000);
    h.deliver([record('ghost')]);
    h.advance(999);
    h.sync.reconcile();
    assert.equal(h.sync.stats().held, 1, 'within the grace');
    h.advance(1);
    h.sync.reconcile();
    assert.deepEqual({ held: h.sync.stats().held, dropped: h.sync.stats().unconfirmedDropped }, { held: 0, dropped: 1 });
    h.deliver([record('ghost', 1, 7)]);
    assert.equal(h.sync.stats().held, 0, 'the dropped life is refused');
    h.deliver([record('ghost', 2)]);
    assert.equal(h.sync.stats().held, 1);
    h.sync.stop();
  });

  it('believes a confirmed record at once, ignores a past life, and purges a believed record whose node discovery stops reporting', () => {
    const h = harness(1_000);
    h.live.set('n', 2);
    h.deliver([record('n', 1)]);
    assert.deepEqual({ entries: h.registry.entries().length, held: h.sync.stats().held }, { entries: 0, held: 0 });
    h.deliver([record('n', 2)]);
    assert.equal(h.registry.entries().length, 1);
    h.live.delete('n');
    h.sync.reconcile();
    h.advance(999);
    h.sync.reconcile();
    assert.equal(h.registry.entries().length, 1, 'within the grace');
    h.advance(1);
    h.sync.reconcile();
    assert.equal(h.registry.entries().length, 0);
    h.sync.stop();
  });
});

describe('registry codec', () => {
  it('round-trips every message kind', () => {
    const record = { nodeId: 'n', incarnation: 2, version: 3, entries: [{ store: 's', workerId: 'w', nodeId: 'n', addrs: ['/ip4/127.0.0.1/tcp/1'], backend: 'postgres' as const, startedAt: 't' }] };
    for (const m of [
      { kind: RegistryMessageKind.Record, record },
      { kind: RegistryMessageKind.Digest, stamps: [{ nodeId: 'n', incarnation: 2, version: 3 }] },
      { kind: RegistryMessageKind.Records, records: [record] },
    ] satisfies RegistryMessage[]) {
      assert.deepEqual(decodeRegistryMessage(encodeRegistryMessage(m)), m);
    }
  });

  it('rejects arbitrary bytes and arbitrary JSON without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        decodeRegistryMessage(bytes);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(1, 2, 3), (value, kind) => {
        const bytes = new TextEncoder().encode(JSON.stringify({ v: 1, kind, record: value, stamps: value, records: value }));
        const decoded = decodeRegistryMessage(bytes);
        if (decoded !== undefined) assert.ok([1, 2, 3].includes(decoded.kind));
      }),
      { numRuns: 3000 },
    );
  });
});
