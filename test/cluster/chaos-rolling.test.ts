/**
 * A rolling restart under load on the namespace rig: four hosts (gater-1 hosts store-1, gater-2 store-2, gater-3
 * and gater-4 are gateways). Two writers append to one stream of each store, one append every 100 ms each, every
 * append retried (same event id, next host) until acknowledged; a subscriber reads store-1's stream through a
 * persistent subscription, reconnecting through another host whenever its stream breaks. Every host is stopped
 * (SIGTERM) and started again, one at a time, each time waiting for the cluster to form again.
 *
 * What must hold: no acknowledged append lost, none written twice, each at the version acknowledged; the load is
 * served again after every restart; the subscriber sees every event of its stream, in order, with no gap.
 *
 * Bounds: gossip every 500 ms; each restart formed again within 30 s and followed by 5 more acknowledged appends per
 * writer within 20 s; at most 1,000 appends per writer; the subscriber catches up within 20 s of the last append; the
 * whole file within about 40 s on an idle machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestRig, rigSkipReason, TEST_GOSSIP_INTERVAL_MS, type TestRig } from '../support/rig-harness.ts';
import { StreamSubscriber } from '../support/rig-subscriber.ts';
import { AppendWorkload, readWholeStream, streamProblems } from '../support/rig-workload.ts';

const skip = await rigSkipReason();
const REFORM_BOUND_MS = 30_000;
const SERVED_AGAIN_BOUND_MS = 20_000;
const CATCH_UP_BOUND_MS = 20_000;

describe('a rolling restart of every host under load', { skip }, () => {
  let t: TestRig;
  let writers: AppendWorkload[] = [];
  let subscriber: StreamSubscriber;
  const restarts: string[] = [];

  before(async () => {
    t = await openTestRig('rolling', { hosts: 4, gateways: 2, env: { GATER_GOSSIP_INTERVAL_MS: String(TEST_GOSSIP_INTERVAL_MS) } });
    const common = { intervalMs: 100, maxAppends: 1_000, retryBudgetMs: 30_000, requestTimeoutMs: 10_000 };
    writers = [
      new AppendWorkload(t.rig, { ...common, store: 'store-1', stream: 'rolling-1', hosts: () => [3, 4, 2, 1] }),
      new AppendWorkload(t.rig, { ...common, store: 'store-2', stream: 'rolling-2', hosts: () => [4, 3, 1, 2] }),
    ];
    subscriber = new StreamSubscriber(t.rig, { store: 'store-1', name: 'rolling-reader', stream: 'rolling-1', hosts: () => [4, 3, 2, 1] });
    await subscriber.start();
    for (const w of writers) w.start();
  });
  after(async () => {
    await Promise.all(writers.map((w) => w.stop()));
    await subscriber?.stop();
    await t?.close();
  });

  it('restarts every host, one at a time, while the load is served', async () => {
    for (const w of writers) await w.acknowledgedMore(10, SERVED_AGAIN_BOUND_MS);
    for (const host of t.rig.hosts) {
      const started = Date.now();
      await t.rig.stop(host.index);
      await t.rig.start(host.index);
      await t.rig.waitFormed(REFORM_BOUND_MS);
      for (const w of writers) await w.acknowledgedMore(5, SERVED_AGAIN_BOUND_MS);
      restarts.push(`${host.name} ${Date.now() - started} ms`);
    }
    console.log(`# restarted, formed again and served: ${restarts.join(', ')}`);
  });

  it('no acknowledged append is lost or written twice', async () => {
    await Promise.all(writers.map((w) => w.stop()));
    for (const [i, w] of writers.entries()) {
      const store = `store-${i + 1}`;
      const events = await readWholeStream(t.rig, 3, store, `rolling-${i + 1}`);
      assert.deepEqual(streamProblems(w.outcomes, events), [], store);
      const retried = w.outcomes.filter((o) => o.attempts.length > 1).length;
      const lost = w.outcomes.length - w.acknowledged().length;
      console.log(`# ${store}: ${w.acknowledged().length} appends acknowledged (${retried} after retries, ${lost} given up), ${events.length} events in the stream`);
    }
  });

  it('the subscriber saw every event of its stream in order', async () => {
    const events = await readWholeStream(t.rig, 4, 'store-1', 'rolling-1');
    await subscriber.caughtUp(events.length - 1, CATCH_UP_BOUND_MS);
    assert.deepEqual(subscriber.problems, []);
    assert.equal(subscriber.lastVersion, events.length - 1);
    assert.ok(subscriber.reconnects >= 1, 'its stream broke at least once (its host or the store host restarted)');
    console.log(`# subscriber: ${events.length} events in order, ${subscriber.deliveries} deliveries (${subscriber.redeliveries} again), ${subscriber.reconnects} reconnects`);
  });
});
