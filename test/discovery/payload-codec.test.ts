import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors/index.ts';
import { MAX_STORES } from '../../src/discovery/constants.ts';
import {
  decodePayload,
  encodePayload,
  encodedPayloadBytes,
  fitPayload,
  type GossipPayload,
} from '../../src/discovery/payload-codec.ts';
import { samplePayload, validPayload } from './support/payloads.ts';

/** Hand-built payload bytes, to reach the decoder with what no encoder would write. */
function raw(parts: Array<number[] | string | bigint>): Buffer {
  const chunks = parts.map((part) => {
    if (typeof part === 'string') return Buffer.concat([Buffer.from([part.length]), Buffer.from(part, 'latin1')]);
    if (typeof part === 'bigint') {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(part);
      return b;
    }
    return Buffer.from(part);
  });
  return Buffer.concat(chunks);
}

const HEAD = ['c', 'n', 'name', 1n, 1n, 1n] as const;

function rejects(bytes: Buffer, field: RegExp): void {
  assert.throws(
    () => decodePayload(bytes),
    (err: unknown) => err instanceof InvalidArgumentError && field.test(err.message),
  );
}

describe('payload codec', () => {
  it('round-trips every valid payload, byte count as computed', () => {
    fc.assert(
      fc.property(validPayload, (payload) => {
        const bytes = encodePayload(payload);
        assert.equal(bytes.length, encodedPayloadBytes(payload));
        assert.deepEqual(decodePayload(bytes), { ...payload });
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a minimal payload built by hand', () => {
    const decoded = decodePayload(raw([...HEAD, [0], [0], [0], [0], [0]]));
    assert.equal(decoded.nodeId, 'n');
    assert.deepEqual(decoded.stores, []);
    assert.equal(decoded.truncated, false);
  });

  it('rejects, naming the field, every way a payload can be wrong', () => {
    rejects(raw([...HEAD, [0], [0], [0], [0], [0], [0]]), /^payload: has 1 bytes after/);
    rejects(raw([...HEAD, [0], [0], [0], [0]]), /^hints\.length: runs past/);
    rejects(raw(['c', 'n', 'name', 1n, 0n, 1n, [0], [0], [0], [0], [0]]), /^sequence: must be at least 1/);
    rejects(raw(['c', 'n', 'name', 2n ** 53n, 1n, 1n, [0], [0], [0], [0], [0]]), /^incarnation: is beyond/);
    rejects(raw([...HEAD, [4], [0], [0], [0], [0]]), /^flags: has unknown bits 0x4/);
    rejects(raw(['c', 'bad id!', 'name', 1n, 1n, 1n, [0], [0], [0], [0], [0]]), /^nodeId: must be/);
    rejects(raw(['', 'n', 'name', 1n, 1n, 1n, [0], [0], [0], [0], [0]]), /^clusterName: must be/);
    rejects(raw(['c', 'n', '-name', 1n, 1n, 1n, [0], [0], [0], [0], [0]]), /^nodeName: must be/);
    rejects(raw([...HEAD, [0], [1], 'caf\u00e9', [0], [0], [0]]), /^addrs\[0\]: must be/);
    rejects(raw([...HEAD, [0], [1], 'no-slash', [0], [0], [0]]), /^addrs\[0\]: must be/);
    rejects(raw([...HEAD, [0], [17], [0], [0], [0]]), /^addrs: holds 17 items, at most 16/);
    rejects(raw([...HEAD, [0], [0], [1], 'a b', [0], [0]]), /^roles\[0\]: must be/);
    rejects(raw([...HEAD, [0], [0], [0], [1], 'x'.repeat(65), [0]]), /^stores\[0\]: is 65 bytes, at most 64/);
    rejects(raw([...HEAD, [0], [0], [0], [0], [33]]), /^hints: holds 33 items, at most 32/);
    rejects(raw([...HEAD, [0], [0], [0], [0], [1, 127, 0, 0, 1, 0, 0]]), /^hints\[0\]: has port 0/);
    rejects(raw([...HEAD, [0], [0], [0], [0], [1, 127, 0, 0]]), /^hints\[0\]: runs past/);
    rejects(raw([[200], 'abc']), /^clusterName: is 200 bytes, at most 64/);
    rejects(Buffer.alloc(0), /^clusterName: runs past/);
  });

  it('decodes arbitrary bytes without ever throwing anything but an InvalidArgumentError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1_400 }), (bytes) => {
        try {
          decodePayload(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof InvalidArgumentError, String(err));
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses to encode a field the decoder would reject', () => {
    assert.throws(() => encodePayload(samplePayload({ stores: ['has space'] })), /stores\[0\]/);
    assert.throws(() => encodePayload(samplePayload({ sequence: 0 })), /sequence/);
    assert.throws(() => encodePayload(samplePayload({ hints: ['host:1'] })), /hints\[0\]/);
    assert.throws(() => encodePayload(samplePayload({ incarnation: 1.5 })), /incarnation/);
  });

  it('trims hints first, then stores, and flags the payload truncated', () => {
    const stores = Array.from({ length: MAX_STORES }, (_, i) => `store-${String(i).padStart(3, '0')}`);
    const hints = Array.from({ length: 32 }, (_, i) => `10.0.0.${i + 1}:45892`);
    const big: GossipPayload = samplePayload({ stores, hints });
    assert.ok(encodedPayloadBytes(big) > 1_000);
    const fitted = fitPayload(big, 1_000);
    assert.ok(encodedPayloadBytes(fitted) <= 1_000);
    assert.equal(fitted.hints.length, 0);
    assert.equal(fitted.truncated, true);
    assert.deepEqual(fitted.stores, stores.slice(0, fitted.stores.length));
    assert.deepEqual(fitted.roles, big.roles);

    const onlyHints = fitPayload(samplePayload({ hints }), encodedPayloadBytes(samplePayload({ hints })) - 6);
    assert.equal(onlyHints.hints.length, 31);
    assert.equal(onlyHints.truncated, false, 'dropping hints loses no advertised data');
    const small = samplePayload();
    assert.equal(fitPayload(small, 1_000), small, 'a payload that fits is sent as it is');
  });
});
