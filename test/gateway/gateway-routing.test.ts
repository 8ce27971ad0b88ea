/**
 * The gateway's decisions (which worker, whether to retry, when to give up), tested with scripted endpoints. The
 * real workers and stores behind the gateway are exercised in test/node and test/http.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GaterError, TimeoutError, WrongExpectedVersionError } from '../../src/errors/index.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { RegistryDirectory, type WorkerDirectory } from '../../src/gateway/worker-directory.ts';
import { WorkerRegistry } from '../../src/registry/index.ts';
import type { EndpointCallContext, WorkerEndpoint } from '../../src/gateway/worker-endpoint.ts';
import type { StoreCall } from '../../src/worker/protocol.ts';

type Script = (call: StoreCall) => Promise<unknown>;

function scripted(workerId: string, script: Script, local = false) {
  const calls: StoreCall[] = [];
  const contexts: EndpointCallContext[] = [];
  const endpoint: WorkerEndpoint = {
    info: { store: 's', workerId, nodeId: workerId, backend: 'sqlite', local },
    inFlight: 0,
    call: (call, context) => {
      calls.push(call);
      contexts.push(context);
      return script(call);
    },
    open: () => Promise.reject(new GaterError('unavailable', 'down')),
  };
  return { endpoint, calls, contexts };
}

function directory(...endpoints: WorkerEndpoint[]): WorkerDirectory {
  return {
    endpointsFor: (store) => (store === 's' ? endpoints : []),
    conflictFor: () => undefined,
    summaries: () => [{ store: 's', workers: endpoints.map((e) => e.info) }],
  };
}

const down: Script = () => Promise.reject(new GaterError('unavailable', 'worker down'));
const ok: Script = () => Promise.resolve(7);

describe('gateway routing', () => {
  it('answers no_workers for a store nobody serves, without trying anything', async () => {
    const a = scripted('a', ok);
    const gw = new Gateway({ directory: directory(a.endpoint) });
    await assert.rejects(gw.getVersion('nosuch', 'x'), { code: 'no_workers' });
    assert.equal(a.calls.length, 0);
  });

  it('retries a read on another worker after an unavailable worker', async () => {
    const a = scripted('a', down, true);
    const b = scripted('b', ok);
    const gw = new Gateway({ directory: directory(a.endpoint, b.endpoint) });
    assert.equal(await gw.getVersion('s', 'x'), 7);
    assert.equal(a.calls.length, 1);
    assert.equal(b.calls.length, 1);
  });

  it('never retries an append without event ids after an unknown outcome', async () => {
    const a = scripted('a', down, true);
    const b = scripted('b', ok);
    const gw = new Gateway({ directory: directory(a.endpoint, b.endpoint) });
    await assert.rejects(gw.appendEvents('s', 'x', [{ eventType: 't' }]), { code: 'unavailable' });
    assert.equal(b.calls.length, 0);
  });

  it('retries an append whose events all carry ids', async () => {
    const a = scripted('a', down, true);
    const b = scripted('b', () => Promise.resolve({ version: 0, position: 0 }));
    const gw = new Gateway({ directory: directory(a.endpoint, b.endpoint) });
    const id = '01890a5d-ac96-774b-bcce-b302099a8057';
    assert.deepEqual(await gw.appendEvents('s', 'x', [{ eventId: id, eventType: 't' }]), { version: 0, position: 0 });
    assert.equal(b.calls.length, 1);
  });

  it('retries even an unsafe call when the error says it never reached a worker', async () => {
    const a = scripted('a', () => Promise.reject(new GaterError('unavailable', 'no route', { delivered: false })), true);
    const b = scripted('b', () => Promise.resolve({ version: 0, position: 0 }));
    const gw = new Gateway({ directory: directory(a.endpoint, b.endpoint) });
    await gw.appendEvents('s', 'x', [{ eventType: 't' }]);
    assert.equal(b.calls.length, 1);
  });

  it('never retries wrong_expected_version, and passes it on typed', async () => {
    const a = scripted('a', () => Promise.reject(new WrongExpectedVersionError('x', 0, 4)), true);
    const b = scripted('b', ok);
    const gw = new Gateway({ directory: directory(a.endpoint, b.endpoint) });
    await assert.rejects(gw.appendEvents('s', 'x', [{ eventType: 't' }], { expectedVersion: 0 }), (err: unknown) => {
      assert.ok(err instanceof WrongExpectedVersionError);
      assert.equal(err.currentVersion, 4);
      return true;
    });
    assert.equal(b.calls.length, 0);
  });

  it('returns timeout when a worker does not answer within the deadline', async () => {
    const hang = scripted('a', () => new Promise(() => {}), true);
    const gw = new Gateway({ directory: directory(hang.endpoint) });
    await assert.rejects(gw.getVersion('s', 'x', { deadlineMs: 30 }), { code: 'timeout' });
  });

  it('gives up with the last error once every worker has had its attempts, long before the deadline', async () => {
    const a = scripted('a', down);
    const b = scripted('b', down);
    const gw = new Gateway({ directory: directory(a.endpoint, b.endpoint) });
    const started = Date.now();
    await assert.rejects(gw.getVersion('s', 'x', { deadlineMs: 60_000 }), { code: 'unavailable' });
    assert.equal(a.calls.length + b.calls.length, 4, 'two attempts per worker');
    assert.ok(Date.now() - started < 30_000, 'answered without waiting for the deadline');
  });

  it('a single unreachable worker gets three attempts', async () => {
    const a = scripted('a', down);
    const gw = new Gateway({ directory: directory(a.endpoint) });
    await assert.rejects(gw.getVersion('s', 'x', { deadlineMs: 60_000 }), { code: 'unavailable' });
    assert.equal(a.calls.length, 3);
  });

  it('shares a deadline given as an instant: the earlier one applies, reaches the worker, and a spent one sends nothing', async () => {
    const a = scripted('a', ok, true);
    const gw = new Gateway({ directory: directory(a.endpoint) });
    const deadlineAt = Date.now() + 2_000;
    assert.equal(await gw.getVersion('s', 'x', { deadlineMs: 60_000, deadlineAt }), 7);
    assert.equal(a.contexts[0]!.deadlineAt, deadlineAt);
    await gw.getVersion('s', 'x', { deadlineMs: 50, deadlineAt: Date.now() + 60_000 });
    assert.ok(a.contexts[1]!.deadlineAt < deadlineAt, 'deadlineMs was the earlier');
    await assert.rejects(gw.getVersion('s', 'x', { deadlineAt: Date.now() - 1 }), { code: 'timeout' });
    await assert.rejects(gw.getVersion('s', 'x', { deadlineAt: Number.NaN }), { code: 'invalid_argument' });
    assert.equal(a.calls.length, 2, 'nothing sent once the deadline was spent');
    const later = Date.now() + 20_000;
    await gw.getVersion('s', 'x', { deadlineAt: later });
    assert.equal(a.contexts[2]!.deadlineAt, later, 'given alone, it is the deadline (not cut to the default 5 s)');
  });

  it('hands endpoints an epoch deadline whatever clock the gateway runs on', async () => {
    const a = scripted('a', ok, true);
    const gw = new Gateway({ directory: directory(a.endpoint), clock: { now: () => 1_000, random: Math.random } }, { callTimeoutMs: 3_000 });
    const before = Date.now();
    await gw.getVersion('s', 'x');
    const deadlineAt = a.contexts[0]!.deadlineAt;
    assert.ok(deadlineAt >= before + 3_000 && deadlineAt <= Date.now() + 3_000, `${deadlineAt - before} ms from now`);
    const shared = Date.now() + 1_500;
    await gw.getVersion('s', 'x', { deadlineAt: shared });
    assert.ok(Math.abs(a.contexts[1]!.deadlineAt - shared) <= 5, 'an epoch deadlineAt reaches the endpoint as given');
  });

  it('stops retrying at the deadline', async () => {
    const a = scripted('a', () => new Promise((_, reject) => setTimeout(() => reject(new GaterError('unavailable', 'slow')), 80)));
    const gw = new Gateway({ directory: directory(a.endpoint) });
    await assert.rejects(gw.getVersion('s', 'x', { deadlineMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof GaterError && (err.code === 'unavailable' || err.code === 'timeout'));
      return true;
    });
    assert.ok(a.calls.length <= 2);
  });

  it('turns an unknown expectedVersion into invalid_argument before any call', async () => {
    const a = scripted('a', ok, true);
    const gw = new Gateway({ directory: directory(a.endpoint) });
    await assert.rejects(gw.appendEvents('s', 'x', [{ eventType: 't' }], { expectedVersion: 'sometimes' }), {
      code: 'invalid_argument',
    });
    assert.equal(a.calls.length, 0);
  });

  it('reports its own timeout when an endpoint that keeps the deadline itself times out at it', async () => {
    const timing: WorkerEndpoint = {
      ...scripted('r', ok).endpoint,
      settlesByDeadline: true,
      // As the RPC does: its own timer, its own words, possibly a millisecond before the gateway's clock agrees.
      call: (_call, { deadlineAt }) =>
        new Promise((_, reject) => setTimeout(() => reject(new TimeoutError('streamVersion at peer-1', 17)), Math.max(0, deadlineAt - Date.now() - 1))),
    };
    const gw = new Gateway({ directory: directory(timing) });
    await assert.rejects(gw.getVersion('s', 'x', { deadlineMs: 40 }), (err: unknown) => {
      assert.ok(err instanceof GaterError && err.code === 'timeout');
      assert.match(err.message, /on store 's' did not complete within 40 ms/);
      return true;
    });
  });

  it('closes a subscription an endpoint opens after the deadline gave up on it', async () => {
    const endings: string[] = [];
    const late: WorkerEndpoint = {
      ...scripted('l', ok, true).endpoint,
      open: () =>
        new Promise((resolve) =>
          setTimeout(
            () =>
              resolve({
                id: 'late',
                ended: new Promise(() => {}),
                close: (reason = 'closed') => endings.push(reason),
                [Symbol.asyncIterator]: async function* () {},
              }),
            80,
          ),
        ),
    };
    const gw = new Gateway({ directory: directory(late) });
    await assert.rejects(gw.subscribe('s', 'sub', { deadlineMs: 20 }), { code: 'timeout' });
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(endings, ['closed']);
  });
});

describe('registry directory', () => {
  it('resolves a store\'s endpoints once per registry change, and follows changes', () => {
    const registry = new WorkerRegistry({}, { nodeId: 'me' });
    const local = new Map<string, WorkerEndpoint>();
    const directory = new RegistryDirectory({ registry, localEndpoints: local });
    for (const id of ['w1', 'w2']) {
      local.set(id, { ...scripted(id, ok, true).endpoint });
    }
    registry.registerLocal({ store: 's', workerId: 'w1', addrs: [], backend: 'sqlite', startedAt: '2026-01-01T00:00:00.000Z' });
    const first = directory.endpointsFor('s');
    assert.deepEqual(first.map((e) => e.info.workerId), ['w1']);
    assert.equal(directory.endpointsFor('s'), first, 'the same list while the registry is unchanged');
    registry.registerLocal({ store: 's', workerId: 'w2', addrs: [], backend: 'sqlite', startedAt: '2026-01-01T00:00:01.000Z' });
    assert.deepEqual(directory.endpointsFor('s').map((e) => e.info.workerId), ['w1', 'w2']);
    registry.unregisterLocal('w1');
    assert.deepEqual(directory.endpointsFor('s').map((e) => e.info.workerId), ['w2']);
    assert.deepEqual(directory.endpointsFor('nosuch'), []);
  });
});
