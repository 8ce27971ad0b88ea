import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GaterError } from '../../src/errors/index.ts';
import { decodeCallArgs } from '../../src/worker/decode-call.ts';
import { STORE_OPS, type StoreCall } from '../../src/worker/protocol.ts';

describe('decodeCallArgs', () => {
  it('accepts well-formed calls', () => {
    const decoded = decodeCallArgs({ store: 's', op: 'readStream', args: { streamId: 'a', count: 10, direction: 'backward' } });
    assert.deepEqual(decoded, { op: 'readStream', args: { streamId: 'a', count: 10, direction: 'backward' } });
  });

  it('names the field that is wrong', () => {
    assert.throws(() => decodeCallArgs({ store: 's', op: 'readStream', args: { streamId: 'a', count: 0 } } as StoreCall), {
      code: 'invalid_argument',
      message: /^count:/,
    });
    assert.throws(() => decodeCallArgs({ store: 's', op: 'ack', args: { name: 'n', positions: [1, -1] } } as StoreCall), {
      message: /^positions\[1\]:/,
    });
    assert.throws(() => decodeCallArgs({ store: 's', op: 'nope', args: {} } as unknown as StoreCall), { message: /^op:/ });
  });

  it('never throws anything but invalid_argument on arbitrary input from the wire', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STORE_OPS), fc.anything(), (op, args) => {
        try {
          decodeCallArgs({ store: 's', op, args } as StoreCall);
        } catch (err) {
          assert.ok(err instanceof GaterError && err.code === 'invalid_argument', String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
