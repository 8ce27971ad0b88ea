import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError, WrongExpectedVersionError } from '../../src/errors/index.ts';
import {
  checkExpectedVersion,
  parseExpectedVersion,
  satisfiesExpectedVersion,
} from '../../src/store/expected-version.ts';

describe('parseExpectedVersion', () => {
  it('accepts versions, sentinels and their names', () => {
    const cases: [unknown, number][] = [
      [0, 0],
      [7, 7],
      ['12', 12],
      [-1, -1],
      ['-1', -1],
      ['no_stream', -1],
      [-2, -2],
      ['-2', -2],
      ['any', -2],
      [-4, -4],
      ['-4', -4],
      ['stream_exists', -4],
      [undefined, -2],
      [null, -2],
    ];
    for (const [input, expected] of cases) assert.equal(parseExpectedVersion(input), expected, String(input));
  });

  it('rejects anything else, naming the field', () => {
    for (const input of [-3, -5, 1.5, Number.NaN, Infinity, 2 ** 53, '', ' 1', '1e3', '0x10', 'ANY', 'toString', true, [], {}]) {
      assert.throws(
        () => parseExpectedVersion(input, 'body.expectedVersion'),
        (err: unknown) => err instanceof InvalidArgumentError && err.data['field'] === 'body.expectedVersion',
        String(input),
      );
    }
  });

  it('reads any integer string as that integer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        assert.equal(parseExpectedVersion(String(n)), n);
        assert.equal(parseExpectedVersion(n), n);
      }),
    );
  });
});

describe('checkExpectedVersion', () => {
  it('holds exactly when the stream is where the caller expects it', () => {
    fc.assert(
      fc.property(fc.constantFrom(-4, -2, -1, 0, 1, 2, 3), fc.integer({ min: -1, max: 3 }), (expected, current) => {
        const ok =
          expected === -2 || (expected === -1 && current === -1) || (expected === -4 && current >= 0) || expected === current;
        assert.equal(satisfiesExpectedVersion(expected, current), ok);
        if (ok) {
          checkExpectedVersion('s', expected, current);
        } else {
          assert.throws(
            () => checkExpectedVersion('s', expected, current),
            (err: unknown) => err instanceof WrongExpectedVersionError && err.currentVersion === current,
          );
        }
      }),
    );
  });
});
