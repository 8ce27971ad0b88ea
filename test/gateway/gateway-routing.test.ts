/**
 * The gateway's decisions (which worker, whether to retry, when to give up), tested with scripted endpoints. The
 * real workers and stores behind the gateway are exercised in test/node and test/http.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GaterError, WrongExpectedVersionError } from '../../src/errors/index.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import type { WorkerDirectory } from '../../src/gateway/worker-directory.ts';
import type { WorkerEndpoint } from '../../src/gateway/worker-endpoint.ts';
import type { StoreCall } from '../../src/worker/protocol.ts';

type Script = (call: StoreCall) => Promise<unknown>;

function scripted(workerId: string, script: Script, local = false) {
  const calls: StoreCall[] = [];
  const endpoint: WorkerEndpoint = {
    info: { store: 's', workerId, nodeId: workerId, backend: 'sqlite', local },
    inFlight: 0,
    call: (call) => {
      calls.push(call);
      return script(call);
    },
    open: () => Promise.reject(new GaterError('unavailable', 'down')),
  };
  return { endpoint, calls };
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
});
