/**
 * Issue 6 end to end over HTTP: calls and subscriptions through gateway nodes A and B to the store `gamma` on node
 * C, all real `gater start` processes on 127.0.0.1. C is killed and restarted under load. Gossip runs every 200 ms
 * (a killed node is dead after about 1 s) and calls have a 2 s deadline; every wait and every HTTP call is bounded,
 * generously, for a loaded 2-core machine.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isErrorCode } from '../../src/errors/index.ts';
import { SseReader } from '../http/harness.ts';
import { TestCluster, sleep, waitFor, type GaterProcess } from '../support/gater-process.ts';

const CALL_DEADLINE_MS = 2_000;
/** A call that has not answered by then hangs: its deadline plus a wide margin for a loaded machine. */
const HANG_BOUND_MS = CALL_DEADLINE_MS + 6_000;
const ENV = { GATER_GOSSIP_INTERVAL_MS: '200', GATER_CALL_TIMEOUT_MS: String(CALL_DEADLINE_MS) };
const STORE = 'gamma';

interface Outcome {
  status: number;
  code: string | undefined;
  body: any;
  ms: number;
}

/** One HTTP call bounded by HANG_BOUND_MS; a call that hits the bound comes back with code `hang`. */
async function call(node: GaterProcess, method: string, path: string, body?: unknown): Promise<Outcome> {
  const started = Date.now();
  try {
    const res = await fetch(`${node.url}${path}`, {
      method,
      signal: AbortSignal.timeout(HANG_BOUND_MS),
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const parsed = text === '' ? undefined : JSON.parse(text);
    return { status: res.status, code: parsed?.error?.code, body: parsed, ms: Date.now() - started };
  } catch (err) {
    const name = (err as Error).name;
    return { status: 0, code: name === 'TimeoutError' ? 'hang' : `fetch:${String(err)}`, body: undefined, ms: Date.now() - started };
  }
}

function appendPath(stream: string): string {
  return `/v1/stores/${STORE}/streams/${stream}/events`;
}

async function readStream(node: GaterProcess, stream: string): Promise<any[]> {
  const res = await call(node, 'GET', `${appendPath(stream)}?from=0&count=10000`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.events;
}

/** Waits until `node`'s registry lists a worker for the store (after C starts or restarts). */
function servesStore(node: GaterProcess): Promise<boolean> {
  return waitFor(`${node.name} to see a worker of ${STORE}`, async () => {
    const { body } = await node.json<{ stores: { store: string; workers: unknown[] }[] }>('/v1/stores');
    return body.stores.some((s) => s.store === STORE && s.workers.length > 0);
  }, 15_000);
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

describe('relay across processes: gateways A and B, store on C', () => {
  const cluster = new TestCluster();
  const a = cluster.add('a', { stores: [], env: ENV });
  const b = cluster.add('b', { stores: [], env: ENV });
  const c = cluster.add('c', { stores: [STORE], env: ENV });

  before(async () => {
    await cluster.startAll();
    await Promise.all([servesStore(a), servesStore(b)]);
  });
  after(() => cluster.close());

  it('an append through A to the store on C reads back identically through B', async () => {
    const events = [
      { eventId: randomUUID(), eventType: 'humidity_measured:v1', data: { humidity: 65 }, tags: ['greenhouse:1'] },
      { eventId: randomUUID(), eventType: 'light_measured:v1', data: { light: 80 }, metadata: { correlationId: 'c-1' } },
    ];
    const appended = await call(a, 'POST', appendPath('relay-http'), { expectedVersion: 'no_stream', events });
    assert.equal(appended.status, 200, JSON.stringify(appended.body));
    const throughB = await readStream(b, 'relay-http');
    assert.deepEqual(throughB, await readStream(c, 'relay-http'), 'B reads what C, the host, reads');
    assert.deepEqual(
      throughB.map((e) => [e.eventId, e.eventType, e.version, e.data, e.tags]),
      [[events[0]!.eventId, 'humidity_measured:v1', 0, { humidity: 65 }, ['greenhouse:1']], [events[1]!.eventId, 'light_measured:v1', 1, { light: 80 }, []]],
    );
    const conflict = await call(b, 'POST', appendPath('relay-http'), { expectedVersion: 'no_stream', events: [{ eventType: 'x' }] });
    assert.deepEqual([conflict.status, conflict.code, conflict.body.error.currentVersion], [409, 'wrong_expected_version', 1]);
  });

  it('1,000 concurrent calls spread over the three nodes all succeed or fail with a typed error', async (t) => {
    const nodes = [a, b, c];
    const STREAMS = 20;
    const appended = new Map<string, string>();
    const calls = Array.from({ length: 1_000 }, (_, i) => {
      const node = nodes[i % 3]!;
      const stream = `many-${i % STREAMS}`;
      switch (i % 4) {
        case 0:
        case 1: {
          const eventId = randomUUID();
          return call(node, 'POST', appendPath(stream), { events: [{ eventId, eventType: 'counted:v1', data: { i } }] }).then((o) => {
            if (o.status === 200) appended.set(eventId, stream);
            return o;
          });
        }
        case 2:
          return call(node, 'GET', `${appendPath(stream)}?count=10`);
        default:
          return call(node, 'GET', `/v1/stores/${STORE}/streams/${stream}/version`);
      }
    });
    const outcomes = await Promise.all(calls);
    const failed = outcomes.filter((o) => o.status !== 200);
    t.diagnostic(`ok ${outcomes.length - failed.length}, failed ${JSON.stringify(countBy(failed.map((o) => String(o.code))))}`);
    for (const o of failed) assert.ok(isErrorCode(o.code), `an untyped failure: ${o.status} ${JSON.stringify(o.body) ?? o.code}`);
    // Every acknowledged append is in its stream exactly once.
    const recorded = new Map<string, number>();
    for (let s = 0; s < STREAMS; s++) {
      for (const e of await readStream(b, `many-${s}`)) recorded.set(e.eventId, (recorded.get(e.eventId) ?? 0) + 1);
    }
    for (const eventId of appended.keys()) assert.equal(recorded.get(eventId), 1, eventId);
    assert.ok(appended.size > 0);
  });

  it('killing the store host under load: calls fail fast with typed errors, never hang; after its restart every acknowledged append is there once', async (t) => {
    const WRITERS = 6;
    let stop = false;
    const acked: string[][] = Array.from({ length: WRITERS }, () => []);
    const lastTried: (string | undefined)[] = Array(WRITERS).fill(undefined);
    const failures: Outcome[] = [];
    // Each writer appends to its own stream through A or B, and retries a failed event with the same id (as a
    // client would), which the store makes idempotent.
    const writer = async (w: number): Promise<void> => {
      const node = w % 2 === 0 ? a : b;
      let eventId = randomUUID();
      while (!stop) {
        lastTried[w] = eventId;
        const o = await call(node, 'POST', appendPath(`crash-${w}`), { events: [{ eventId, eventType: 'written:v1', data: { w } }] });
        if (o.status === 200) {
          acked[w]!.push(eventId);
          eventId = randomUUID();
        } else {
          failures.push(o);
          await sleep(20);
        }
      }
    };
    const total = (): number => acked.reduce((n, list) => n + list.length, 0);
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    try {
      await waitFor('appends before the kill', () => total() >= 120, 20_000, 10);
      await c.kill();
      // Long enough for the cluster to declare C dead (about 1 s), so calls meet both a dying and a missing host.
      await waitFor('typed failures after the kill', () => failures.length >= 30, 20_000, 10);
      await sleep(1_500);
      const atRestart = total();
      await c.start();
      await waitFor('appends after the restart', () => acked.every((list) => list.length > 0) && total() >= atRestart + 60, 30_000, 20);
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    const codes = countBy(failures.map((o) => String(o.code)));
    const slowest = Math.max(...failures.map((o) => o.ms));
    t.diagnostic(`acked ${total()}, failed ${JSON.stringify(codes)}, slowest failure ${slowest} ms`);
    for (const o of failures) {
      assert.ok(['no_workers', 'unavailable', 'timeout'].includes(String(o.code)), `failure ${o.status} ${o.code} ${JSON.stringify(o.body)}`);
    }
    assert.ok((codes['no_workers'] ?? 0) > 0, 'the dead host was purged: calls failed at once with no_workers');

    for (let w = 0; w < WRITERS; w++) {
      const ids = (await readStream(b, `crash-${w}`)).map((e) => e.eventId);
      // Exactly the acknowledged events, in order, once each; plus at most the writer's last attempt, whose answer
      // was a failure but which may have committed.
      const extra = ids.length - acked[w]!.length;
      assert.ok(extra === 0 || (extra === 1 && ids.at(-1) === lastTried[w]), `writer ${w}: ${ids.length} recorded, ${acked[w]!.length} acked`);
      assert.deepEqual(ids.slice(0, acked[w]!.length), acked[w]);
    }
  });

  it('a persistent subscriber on B resumes from its checkpoint after the store host restarts, and sees every event in order', async () => {
    const name = 'resumer';
    const stream = 'resumed';
    const saved = await call(b, 'PUT', `/v1/stores/${STORE}/subscriptions/${name}`, { type: 'by_stream', selector: stream });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    const events = (n: number, from: number): unknown[] =>
      Array.from({ length: n }, (_, i) => ({ eventId: randomUUID(), eventType: 'step:v1', data: { n: from + i } }));
    const eventsUrl = `${b.url}/v1/stores/${STORE}/subscriptions/${name}/events`;

    let reader = await SseReader.open(eventsUrl);
    assert.equal(reader.response.status, 200);
    assert.equal((await call(a, 'POST', appendPath(stream), { events: events(10, 0) })).status, 200);
    const first = await reader.take(10, 15_000);
    assert.deepEqual(first.map((m) => m.data.event.data.n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Ack the first six through B: the checkpoint kept at C moves.
    const sixth = first[5]!.data.event.position as number;
    const acked = await call(b, 'POST', `/v1/stores/${STORE}/subscriptions/${name}/ack`, { positions: first.slice(0, 6).map((m) => m.data.event.position) });
    assert.deepEqual(acked.body, { checkpoint: sixth });
    const atHost = await call(c, 'GET', `/v1/stores/${STORE}/subscriptions/${name}`);
    assert.equal(atHost.body.subscription.checkpoint, sixth);

    await c.kill();
    assert.ok(await reader.waitForEnd(15_000), 'the event stream ends when its store host dies');
    reader.close();
    await c.start();
    await servesStore(b);
    reader = await waitFor('the subscription to open again through B', async () => {
      const r = await SseReader.open(eventsUrl);
      if (r.response.status === 200) return r;
      r.close();
      return undefined;
    }, 15_000, 200);
    try {
      assert.equal((await call(a, 'POST', appendPath(stream), { events: events(10, 10) })).status, 200);
      // Delivery resumes right after the checkpoint: the four unacknowledged events again, then the new ones.
      const resumed = await reader.take(14, 15_000);
      assert.deepEqual(resumed.map((m) => m.data.event.data.n), [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      const positions = resumed.map((m) => m.data.event.position as number);
      const done = await call(b, 'POST', `/v1/stores/${STORE}/subscriptions/${name}/ack`, { positions });
      assert.deepEqual(done.body, { checkpoint: positions.at(-1) });
      assert.equal((await call(c, 'GET', `/v1/stores/${STORE}/subscriptions/${name}`)).body.subscription.checkpoint, positions.at(-1));
    } finally {
      reader.close();
    }
  });

  it('a subscription on B to the store on C receives 10,000 appended events in order with contiguous versions', async (t) => {
    const stream = 'ten-thousand';
    const TOTAL = 10_000;
    const BATCH = 100;
    const reader = await SseReader.open(`${b.url}/v1/stores/${STORE}/observe?type=by_stream&selector=${stream}&from=0`);
    try {
      assert.equal(reader.response.status, 200);
      const started = Date.now();
      // Appends and deliveries overlap: the subscription catches up and goes live while A is still appending.
      const appending = (async () => {
        for (let i = 0; i < TOTAL; i += BATCH) {
          const batch = Array.from({ length: BATCH }, (_, k) => ({ eventType: 'bulk:v1', data: { n: i + k } }));
          const o = await call(a, 'POST', appendPath(stream), { events: batch });
          assert.equal(o.status, 200, JSON.stringify(o.body));
        }
      })();
      const messages = await reader.take(TOTAL, 120_000);
      await appending;
      t.diagnostic(`10,000 events appended through A and delivered through B in ${Date.now() - started} ms`);
      let position = -1;
      for (const [i, m] of messages.entries()) {
        const event = m.data.event;
        if (event.version !== i || event.data.n !== i || !(event.position > position)) {
          assert.fail(`delivery ${i}: version ${event.version}, n ${event.data.n}, position ${event.position} after ${position}`);
        }
        position = event.position;
      }
    } finally {
      reader.close();
    }
  });
});
