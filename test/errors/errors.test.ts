import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  ERROR_CODES,
  GaterError,
  InvalidArgumentError,
  NoWorkersError,
  NotFoundError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError,
  fromWire,
  toGaterError,
} from '../../src/errors/index.ts';

describe('error codes', () => {
  it('every code is documented in the README with its HTTP status', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\``));
      assert.ok(row, `README documents error code ${code}`);
      assert.ok(row.includes(String(spec.status)), `README row of ${code} names status ${spec.status}`);
    }
  });

  it('wrong_expected_version crosses the wire and comes back typed, with its current version', () => {
    const wire = JSON.parse(JSON.stringify(new WrongExpectedVersionError('s-1', 3, 7).toWire()));
    const back = fromWire(wire);
    assert.ok(back instanceof WrongExpectedVersionError);
    assert.equal(back.code, 'wrong_expected_version');
    assert.equal(back.currentVersion, 7);
    assert.equal(back.data['expectedVersion'], 3);
    assert.equal(back.status, 409);
    assert.equal(back.retryable, false);
  });

  it('invalid_argument keeps the field and the message', () => {
    const back = fromWire(new InvalidArgumentError('events[2].eventType', 'must be a string').toWire());
    assert.ok(back instanceof InvalidArgumentError);
    assert.equal(back.data['field'], 'events[2].eventType');
    assert.equal(back.message, 'events[2].eventType: must be a string');
  });

  it('every code round-trips with its retryable flag and data', () => {
    for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]) {
      const back = fromWire(new GaterError(code, 'm', { extra: 1 }).toWire());
      assert.equal(back.code, code);
      assert.equal(back.retryable, ERROR_CODES[code].retryable);
      assert.equal(back.data['extra'], 1);
    }
  });

  it('codes with a subclass come back as it, with the message and data exactly as sent', () => {
    const classes = [
      ['stream_not_found', StreamNotFoundError],
      ['not_found', NotFoundError],
      ['no_workers', NoWorkersError],
      ['timeout', TimeoutError],
      ['unavailable', UnavailableError],
    ] as const;
    for (const [code, type] of classes) {
      const back = fromWire({ code, message: `m ${code}`, data: { extra: 1 } });
      assert.ok(back instanceof type, code);
      assert.equal(back.name, type.name);
      assert.equal(back.code, code);
      assert.equal(back.message, `m ${code}`);
      assert.deepEqual(back.data, { extra: 1 });
      assert.equal(fromWire({ code }).message, ERROR_CODES[code].description);
    }
    assert.deepEqual(fromWire(new StreamNotFoundError('s').toWire()).data, { streamId: 's' });
    assert.deepEqual(fromWire(new TimeoutError('append', 100).toWire()).data, { deadlineMs: 100 });
  });

  it('garbage on the wire becomes internal, never a crash', () => {
    for (const junk of [null, 1, 'x', [], { code: 'nope' }, { code: 'timeout', data: [1] }]) {
      assert.ok(fromWire(junk) instanceof GaterError);
    }
    assert.equal(fromWire({ code: 'nope' }).code, 'internal');
    assert.equal(toGaterError(new Error('boom')).code, 'internal');
  });

  it('data named __proto__ from the wire gives no error a prototype of the sender\'s choosing', () => {
    // As JSON.parse decodes a frame or an HTTP body: "__proto__" is then an own key, and Object.assign would run
    // the setter of that name.
    for (const code of ['not_found', 'unavailable', 'invalid_argument', 'wrong_expected_version', 'conflict', 'nope']) {
      const wire: unknown = JSON.parse(`{"code":"${code}","message":"m","data":{"__proto__":{"delivered":false,"outcome":"written"},"x":1}}`);
      const error = fromWire(wire);
      assert.equal(Object.getPrototypeOf(error.data), Object.prototype, code);
      assert.equal(error.data['delivered'], undefined, code);
      assert.equal(error.data['outcome'], undefined, code);
      assert.equal(error.data['x'], 1, code);
    }
  });
});
