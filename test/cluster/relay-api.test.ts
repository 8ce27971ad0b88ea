/**
 * Issue 6 through the TypeScript API: three in-process nodes of one cluster (real discovery on 127.0.0.1, real mesh,
 * real SQLite), gateways A and B and the store `gamma` on C. What crosses the mesh must come back as it left: events,
 * typed errors, subscription deliveries and acknowledgements.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { GaterError } from '../../src/errors/index.ts';
import type { GaterApi } from '../../src/gateway/gater-api.ts';
import type { EventSubscription, Delivery } from '../../src/store/subscriptions/types.ts';
import { uniqueCluster, waitFor } from '../support/gater-process.ts';
import { createTestApi, type TestApi } from '../support/real-api.ts';

const STORE = 'gamma';

/** The next `n` deliveries of `subscription`, failing after `timeoutMs`. */
async function take(subscription: EventSubscription, n: number, timeoutMs = 15_000): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const iterator = subscription[Symbol.asyncIterator]();
  const deadline = AbortSignal.timeout(timeoutMs);
  const timedOut = new Promise<never>((_, reject) =>
    deadline.addEventListener('abort', () => reject(new Error(`timed out with ${out.length} of ${n} deliveries`)), { once: true }),
  );
  // The deadline may still fire after the deliveries are in; nobody waits for it then.
  timedOut.catch(() => {});
  while (out.length < n) {
    const next = await Promise.race([iterator.next(), timedOut]);
    if (next.done === true) throw new Error(`the subscription ended after ${out.length} of ${n} deliveries`);
    out.push(next.value);
  }
  return out;
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof GaterError, `not a GaterError: ${String(err)}`);
    return err.code;
  }
  assert.fail('the call succeeded');
}

describe('relay through the TypeScript API: in-process nodes A and B, store on C', () => {
  const identity = uniqueCluster();
  const nodes: TestApi[] = [];
  let a: GaterApi;
  let b: GaterApi;
  let c: GaterApi;

  before(async () => {
    const settings = {
      clusterName: identity.name,
      clusterSecret: identity.secret,
      gossipPort: identity.gossipPort,
      gossipAddr: identity.group,
      gossipIntervalMs: 200,
    };
    for (const [name, stores] of [['a', []], ['b', []], ['c', [STORE]]] as const) {
      nodes.push(await createTestApi({ stores: [...stores], settings: { ...settings, nodeName: name } }));
    }
    [a, b, c] = nodes.map((n) => n.api) as [GaterApi, GaterApi, GaterApi];
    for (const api of [a, b]) {
      await waitFor('the gateways to see the store', async () =>
        (await api.listStores()).some((s) => s.store === STORE && s.workers.some((w) => !w.local)));
    }
  });
  after(async () => {
    for (const node of nodes) await node.close();
  });

  it('appends through A, reads through B the events C recorded, and typed errors cross back', async () => {
    const events = [
      { eventId: randomUUID(), eventType: 'humidity_measured:v1', data: { humidity: 65 }, tags: ['greenhouse:1'] },
      { eventId: randomUUID(), eventType: 'light_measured:v1', data: { light: 80 } },
    ];
    const result = await a.appendEvents(STORE, 'ts-relay', events, { expectedVersion: 'no_stream' });
    assert.equal(result.version, 1);
    const throughB = await b.getEvents(STORE, 'ts-relay');
    assert.deepEqual(throughB, await c.getEvents(STORE, 'ts-relay'));
    assert.deepEqual(throughB.map((e) => e.eventId), events.map((e) => e.eventId));
    assert.equal(await b.getVersion(STORE, 'ts-relay'), 1);

    await assert.rejects(a.appendEvents(STORE, 'ts-relay', [{ eventType: 'x' }], { expectedVersion: 'no_stream' }), (err) => {
      assert.ok(err instanceof GaterError);
      assert.equal(err.code, 'wrong_expected_version');
      assert.equal(err.data['currentVersion'], 1);
      return true;
    });
    assert.equal(await code(b.getEvents(STORE, 'ts-relay', { count: 0 })), 'invalid_argument');
    assert.equal(await code(b.getVersion('no-such-store', 'x')), 'no_workers');
  });

  it("a persistent subscription's ack through B moves the checkpoint kept at C", async () => {
    const name = 'ts-persistent';
    const stream = 'ts-persistent-stream';
    await b.saveSubscription(STORE, { type: 'by_stream', selector: stream, name });
    const subscription = await b.subscribe(STORE, name);
    try {
      await a.appendEvents(STORE, stream, Array.from({ length: 5 }, (_, n) => ({ eventType: 'step:v1', data: { n } })));
      const deliveries = await take(subscription, 5);
      assert.deepEqual(deliveries.map((d) => d.event.version), [0, 1, 2, 3, 4]);
      const positions = deliveries.map((d) => d.event.position);
      const { checkpoint } = await b.ackEvents(STORE, name, positions.slice(0, 3));
      assert.equal(checkpoint, positions[2]);
      assert.equal((await c.getSubscription(STORE, name)).checkpoint, positions[2]);
      await b.ackEvents(STORE, name, positions.slice(3));
      assert.equal((await c.getSubscription(STORE, name)).checkpoint, positions[4]);
    } finally {
      subscription.close();
    }
  });

  it('a transient subscription on B from position 0 sees every event of a stream on C in order', async () => {
    const stream = 'ts-observed';
    const TOTAL = 1_000;
    const subscription = await b.observe(STORE, { type: 'by_stream', selector: stream, startFrom: 0 });
    try {
      for (let i = 0; i < TOTAL; i += 100) {
        await a.appendEvents(STORE, stream, Array.from({ length: 100 }, (_, k) => ({ eventType: 'bulk:v1', data: { n: i + k } })));
      }
      const deliveries = await take(subscription, TOTAL, 60_000);
      assert.deepEqual(deliveries.map((d) => d.event.version), Array.from({ length: TOTAL }, (_, i) => i));
    } finally {
      subscription.close();
    }
  });
});
