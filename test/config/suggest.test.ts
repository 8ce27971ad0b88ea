import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { closest, editDistance } from '../../src/config/suggest.ts';

describe('closest', () => {
  it('finds typos, swaps and other spellings of a name, and nothing for a stranger', () => {
    const keys = ['httpPort', 'httpHost', 'gossipPort', 'stores', 'storeBackend'];
    assert.equal(closest('http_port', keys), 'httpPort');
    assert.equal(closest('HTTP-PORT', keys), 'httpPort');
    assert.equal(closest('htpPort', keys), 'httpPort');
    assert.equal(closest('stroes', keys), 'stores');
    assert.equal(closest('storeBackends', keys), 'storeBackend');
    assert.equal(closest('completely-unrelated', keys), undefined);
    assert.equal(closest('x', []), undefined);
  });

  it('edit distance is a metric that counts a swap as one edit', () => {
    assert.equal(editDistance('ab', 'ba'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        assert.equal(d, editDistance(b, a));
        assert.equal(d === 0, a === b);
        assert.ok(d <= Math.max(a.length, b.length));
        assert.ok(d >= Math.abs(a.length - b.length));
      }),
      { numRuns: 300 },
    );
  });
});
