/**
 * A real node process is killed and restarted under open subscriptions: the client's iterators reconnect on their
 * own and go on with no gap and no duplicate, the transient one from one past its last position, the persistent one
 * from the node's checkpoint (acks sent while the node was down are retried; acks the restarted node forgot are sent
 * again instead of handing the event out twice). A node frozen under a subscription (SIGSTOP) makes it give up at its
 * reconnectTimeoutMs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GaterClient } from '../../src/client/index.ts';
import { GaterError } from '../../src/errors/index.ts';
import type { Delivery } from '../../src/store/subscriptions/types.ts';
import { GaterProcess, uniqueCluster, waitFor } from '../support/gater-process.ts';
import { range, take } from './support.ts';

const STORE = 'default';
const BEFORE = 20;
const AFTER = 20;

describe('subscriptions across a node restart', () => {
  const node = new GaterProcess({ name: 'restart', cluster: uniqueCluster() });
  let client: GaterClient;

  before(async () => {
    await node.start();
    // Calls ride out the restart: a refused connection is retried within the deadline.
    client = new GaterClient({}, { url: node.url, deadlineMs: 30_000 });
  });
  after(async () => {
    client.close();
    await node.close();
  });

  it('resumes a transient and a persistent subscription with no gap and no duplicate', async () => {
    await client.saveSubscription(STORE, { type: 'by_stream', selector: '$all', name: 'everything' });
    const states: string[] = [];
    const observed = await client.observe(STORE, { type: 'by_stream', selector: '$all' }, { onStateChange: (s) => states.push(s) });
    const persistent = await client.subscribe(STORE, 'everything');
    await client.appendEvents(STORE, 'g1', range(0, BEFORE).map((i) => ({ eventType: 'temperature_measured:v1', data: { temperature: i } })));

    // Both consumers stop after half of the first batch and wait for the restart, with the rest possibly in flight.
    let restarted!: () => void;
    const restartDone = new Promise<void>((resolve) => (restarted = resolve));
    const pauseAt = BEFORE / 2;
    const consume = (sub: typeof observed, ack: boolean): Promise<Delivery[]> => {
      let n = 0;
      return take(sub, BEFORE + AFTER, 90_000, async (d) => {
        if (ack) await sub.ack(d.event.position);
        n += 1;
        if (n === pauseAt) await restartDone;
      });
    };
    const transientDone = consume(observed, false);
    const persistentDone = consume(persistent, true);
    await waitFor('the persistent consumer to ack half', async () => (await client.getSubscription(STORE, 'everything')).checkpoint >= pauseAt - 1);

    await node.kill();
    await node.start();
    restarted();
    await client.appendEvents(STORE, 'g2', range(0, AFTER).map((i) => ({ eventType: 'humidity_measured:v1', data: { humidity: i } })));

    const [seen, received] = await Promise.all([transientDone, persistentDone]);
    assert.deepEqual(seen.map((d) => d.event.position), range(0, BEFORE + AFTER));
    assert.deepEqual(received.map((d) => d.event.position), range(0, BEFORE + AFTER));
    assert.ok(observed.reconnects >= 1 && persistent.reconnects >= 1, `reconnects ${observed.reconnects}, ${persistent.reconnects}`);
    assert.ok(states.includes('reconnecting'), states.join());
    await waitFor('the checkpoint to cover everything', async () => (await client.getSubscription(STORE, 'everything')).checkpoint === BEFORE + AFTER - 1);
    observed.close();
    persistent.close();
  });

  it('gives up at reconnectTimeoutMs on a node that takes connections and never answers', async () => {
    const states: string[] = [];
    const observed = await client.observe(STORE, { type: 'by_stream', selector: '$all' }, {
      idleTimeoutMs: 500,
      reconnectTimeoutMs: 1_000,
      onStateChange: (state, err) => states.push(err === undefined ? state : `${state}:${err.code}`),
    });
    // Frozen, the node's kernel still accepts connections; its keep-alive comments stop, and no stream opens.
    process.kill(node.pid!, 'SIGSTOP');
    try {
      await assert.rejects(observed.next(), (err: unknown) => {
        assert.ok(err instanceof GaterError);
        assert.equal(err.code, 'unavailable');
        assert.match(err.message, /past reconnectTimeoutMs \(1000 ms\)/);
        return true;
      });
    } finally {
      process.kill(node.pid!, 'SIGCONT');
    }
    assert.equal(observed.state, 'closed');
    assert.deepEqual(states.at(-1), 'closed');
    assert.ok(states.includes('reconnecting:unavailable'), states.join());
  });
});
