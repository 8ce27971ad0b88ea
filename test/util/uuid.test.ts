import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isUuid, normalizeUuid, uuidv7, uuidv7Time } from '../../src/util/uuid.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('is well-formed: version 7, RFC 9562 variant, lower case', () => {
    for (let i = 0; i < 1_000; i++) {
      const id = uuidv7();
      assert.match(id, V7);
      assert.ok(isUuid(id));
    }
  });

  it('carries the current time in milliseconds', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    const t = uuidv7Time(id);
    assert.ok(t >= before && t <= after, `${t} within [${before}, ${after}]`);
  });

  it('sorts in creation order across milliseconds, as strings', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(uuidv7());
      const t = Date.now();
      while (Date.now() === t) await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual([...ids].sort(), ids);
    assert.deepEqual(
      ids.map(uuidv7Time),
      [...ids.map(uuidv7Time)].sort((a, b) => a - b),
    );
  });

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => uuidv7()));
    assert.equal(ids.size, 10_000);
  });
});

describe('isUuid', () => {
  it('accepts canonical UUIDs of any version and case', () => {
    for (const id of [
      '00000000-0000-0000-0000-000000000000',
      'f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
      'F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6',
      '0190a3c4-0000-7000-8000-000000000001',
    ]) {
      assert.ok(isUuid(id), id);
    }
  });

  it('rejects everything else', () => {
    for (const id of [
      '',
      'f81d4fae7dec11d0a76500a0c91e6bf6',
      '{f81d4fae-7dec-11d0-a765-00a0c91e6bf6}',
      'f81d4fae-7dec-11d0-a765-00a0c91e6bf',
      'f81d4fae-7dec-11d0-a765-00a0c91e6bf6 ',
      'g81d4fae-7dec-11d0-a765-00a0c91e6bf6',
      'f81d4fae_7dec-11d0-a765-00a0c91e6bf6',
      42,
      null,
    ]) {
      assert.equal(isUuid(id), false, String(id));
    }
  });

  it('agrees with a regular expression on arbitrary strings', () => {
    const pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    const hexish = fc.stringMatching(/^[0-9a-gA-G-]{30,40}$/);
    fc.assert(
      fc.property(fc.oneof(fc.uuid(), fc.string(), hexish), (s) => {
        assert.equal(isUuid(s), pattern.test(s));
      }),
      { numRuns: 2_000, seed: 3 },
    );
  });

  it('normalises to lower case', () => {
    assert.equal(normalizeUuid('F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6'), 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    const lower = uuidv7();
    assert.equal(normalizeUuid(lower), lower);
  });
});
