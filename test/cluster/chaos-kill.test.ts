/**
 * SIGKILL of a store host under a steady workload, on the namespace rig: three hosts (gater-1 hosts store-1,
 * gater-2 hosts store-2, gater-3 is a gateway). Appends go through the gateway to both stores, one every 50 ms to
 * store-1 and every 100 ms to store-2, each attempted once. gater-1 is killed, then started again.
 *
 * What must hold: the survivors purge gater-1 (peer dead, store-1 out of their registries); calls to store-1 fail
 * fast while it is gone (an error code, never the call deadline); store-2 is served throughout; after the restart
 * store-1 is served again; every acknowledged append is in its stream exactly once, at the acknowledged version.
 *
 * Bounds: gossip every 500 ms (dead after 2.5 s); the purge within 15 s of the kill; every failing call ends with an
 * error code within 2 s, far from the 10 s call deadline, even in the instant after the kill when the dead node's
 * worker is still registered (the gateway gives up after two attempts per worker: `unavailable`), and within 1 s once
 * the store is purged (`no_workers`); at most 2,000 appends per stream; the whole file within about 15 s on an idle
 * machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestRig, rigSkipReason, TEST_GOSSIP_INTERVAL_MS, type TestRig } from '../support/rig-harness.ts';
import { AppendWorkload, readWholeStream, streamProblems } from '../support/rig-workload.ts';
import { waitFor } from '../support/gater-process.ts';

const skip = await rigSkipReason();
/** Longer than detection (2.5 s), so that a call cut short by the kill is seen to end on its own, not at its deadline. */
const CALL_TIMEOUT_MS = 10_000;
const PURGE_BOUND_MS = 15_000;
/** A call to a store with no worker left needs no network at all: 1 s is room for a busy machine, not a target. */
const PURGED_CALL_BOUND_MS = 1_000;
/** A call to the killed node before the purge fails after a few quick attempts; 2 s is room for a busy machine. */
const FAIL_FAST_BOUND_MS = 2_000;

describe('SIGKILL of a store host under load', { skip }, () => {
  let t: TestRig;
  let victim: AppendWorkload;
  let control: AppendWorkload;
  let killedAt = 0;
  let purgedAt = 0;
  let restartedAt = 0;

  before(async () => {
    t = await openTestRig('kill', {
      hosts: 3,
      gateways: 1,
      env: { GATER_GOSSIP_INTERVAL_MS: String(TEST_GOSSIP_INTERVAL_MS), GATER_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS) },
    });
    const common = { hosts: () => [3], maxAppends: 2_000, retryBudgetMs: 0, requestTimeoutMs: 3 * CALL_TIMEOUT_MS };
    victim = new AppendWorkload(t.rig, { ...common, store: 'store-1', stream: 'kill-victim', intervalMs: 50 });
    control = new AppendWorkload(t.rig, { ...common, store: 'store-2', stream: 'kill-control', intervalMs: 100 });
    victim.start();
    control.start();
  });
  after(async () => {
    await victim?.stop();
    await control?.stop();
    await t?.close();
  });

  it('the workload runs on a formed cluster', async () => {
    await victim.acknowledgedMore(20, 20_000);
    await control.acknowledgedMore(10, 20_000);
    assert.deepEqual(victim.failures(), []);
  });

  it('the survivors purge the killed host', async () => {
    killedAt = Date.now();
    await t.rig.kill(1);
    for (const survivor of [2, 3]) {
      await waitFor(`gater-${survivor} to purge gater-1`, async () => {
        const view = await t.rig.view(survivor);
        const peer = view?.peers.find((p) => p.name === 'gater-1');
        return peer?.state === 'dead' && !view!.registry.entries.some((e) => e.store === 'store-1');
      }, PURGE_BOUND_MS, 50);
    }
    purgedAt = Date.now();
    console.log(`# purged by both survivors ${purgedAt - killedAt} ms after the SIGKILL`);
    // Calls made after the purge are observed too.
    await waitFor('five calls after the purge', () => victim.failures().filter((a) => a.startedAt > purgedAt).length >= 5, 10_000, 50);
  });

  it('calls to the dead store fail fast with an error code while store-2 is served', () => {
    const during = victim.failures().filter((a) => a.startedAt >= killedAt);
    for (const attempt of during) {
      assert.ok(['no_workers', 'unavailable'].includes(attempt.code ?? ''), `failed with ${attempt.code} (status ${attempt.status})`);
      assert.ok(attempt.durationMs < FAIL_FAST_BOUND_MS, `a failing call took ${attempt.durationMs} ms (deadline ${CALL_TIMEOUT_MS} ms)`);
    }
    // Once purged, the store has no worker anywhere: calls are refused on the spot.
    const afterPurge = during.filter((a) => a.startedAt > purgedAt);
    assert.ok(afterPurge.length > 0, 'calls were made after the purge');
    for (const attempt of afterPurge) {
      assert.equal(attempt.code, 'no_workers');
      assert.ok(attempt.durationMs < PURGED_CALL_BOUND_MS, `a call to a purged store took ${attempt.durationMs} ms`);
    }
    const slowest = Math.max(...during.map((a) => a.durationMs));
    const slowestPurged = Math.max(...afterPurge.map((a) => a.durationMs));
    console.log(`# ${during.length} calls failed while gater-1 was down: the slowest in ${slowest} ms (before the purge), after the purge in at most ${slowestPurged} ms`);
    assert.deepEqual(control.failures(), [], 'store-2 was served throughout');
  });

  it('a restart of the host restores service', async () => {
    await t.rig.start(1);
    await t.rig.waitFormed(30_000);
    restartedAt = Date.now();
    await victim.acknowledgedMore(20, 20_000);
  });

  it('no acknowledged append is lost or written twice', async () => {
    await victim.stop();
    await control.stop();
    const victimEvents = await readWholeStream(t.rig, 2, 'store-1', 'kill-victim');
    const controlEvents = await readWholeStream(t.rig, 1, 'store-2', 'kill-control');
    assert.deepEqual(streamProblems(victim.outcomes, victimEvents), []);
    assert.deepEqual(streamProblems(control.outcomes, controlEvents), []);
    assert.ok(victim.outcomes.some((o) => o.version !== undefined && o.attempts[0]!.startedAt < killedAt));
    assert.ok(victim.outcomes.some((o) => o.version !== undefined && o.attempts[0]!.startedAt > restartedAt));
    console.log(`# store-1: ${victim.acknowledged().length} of ${victim.outcomes.length} appends acknowledged, all present once; store-2: ${control.acknowledged().length}`);
  });
});
