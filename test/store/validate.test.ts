/** The shared input validation, for what the store contract cannot see from outside. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors/index.ts';
import {
  canonicalJson,
  prepareEvents,
  validateFilter,
  validateStreamId,
  validateSubscriptionSpec,
} from '../../src/store/validate.ts';

function field(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidArgumentError, String(err));
    return String(err.data['field']);
  }
  assert.fail('expected an InvalidArgumentError');
}

describe('prepareEvents', () => {
  it('serialises data and metadata, copies and dedupes tags, fills in content types', () => {
    const when = new Date(Date.UTC(2025, 0, 2));
    const { events, idsSupplied } = prepareEvents([
      { eventType: 'A', data: { when }, metadata: { correlationId: 'c' }, tags: ['x', 'y', 'x'] },
      { eventType: 'B', data: null, dataContentType: 'text/plain' },
    ]);
    assert.equal(idsSupplied, false);
    const [a, b] = events;
    assert.ok(a && b);
    assert.equal(a.data, '{"when":"2025-01-02T00:00:00.000Z"}');
    assert.equal(a.metadata, '{"correlationId":"c"}');
    assert.deepEqual(a.tags, ['x', 'y']);
    assert.equal(a.tagsJson, '["x","y"]');
    assert.equal(a.dataContentType, 'application/json');
    assert.equal(b.data, 'null');
    assert.equal(b.metadata, null);
    assert.deepEqual(b.tags, []);
    assert.equal(b.tagsJson, null);
    assert.equal(b.dataContentType, 'text/plain');
    assert.notEqual(a.eventId, b.eventId);
  });

  it('says whether the caller supplied every id', () => {
    const id = 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6';
    assert.equal(prepareEvents([{ eventType: 'A', eventId: id }]).idsSupplied, true);
    assert.equal(prepareEvents([{ eventType: 'A', eventId: id }, { eventType: 'B' }]).idsSupplied, false);
  });

  it('names the offending field under the given prefix', () => {
    assert.equal(field(() => prepareEvents([{ eventType: 'A' }, { eventType: 5 }], 'body.events')), 'body.events[1].eventType');
    assert.equal(field(() => prepareEvents([{ eventType: 'A', tags: ['a', 'b', 3] }])), 'events[0].tags[2]');
    assert.equal(field(() => prepareEvents([{ eventType: 'A', tags: Array(65).fill('t') }])), 'events[0].tags');
  });

  it('never throws anything but InvalidArgumentError, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          prepareEvents(input);
        } catch (err) {
          assert.ok(err instanceof InvalidArgumentError, String(err));
        }
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});

describe('numbers JSON cannot carry', () => {
  const refusedAt = (fn: () => unknown, field: string) =>
    assert.throws(fn, (err: unknown) => err instanceof InvalidArgumentError && err.data['field'] === field, field);

  it('are refused, naming their path, where JSON.stringify would have written null', () => {
    refusedAt(() => prepareEvents([{ eventType: 'A', data: { a: [1, { b: Infinity }] } }]), 'events[0].data.a[1].b');
    refusedAt(() => prepareEvents([{ eventType: 'A' }, { eventType: 'B', metadata: { n: -Infinity } }]), 'events[1].metadata.n');
    refusedAt(() => prepareEvents([{ eventType: 'A', data: NaN }]), 'events[0].data');
    refusedAt(() => prepareEvents([{ eventType: 'A', data: { toJSON: () => ({ x: NaN }) } }]), 'events[0].data.x');
  });

  it('leave nulls, and finite numbers of every size, as they were', () => {
    const { events } = prepareEvents([{ eventType: 'A', data: { n: null, list: [null, 1e308, -5e-324, 0], s: 'null' } }]);
    assert.equal(events[0]!.data, '{"n":null,"list":[null,1e+308,-5e-324,0],"s":"null"}');
  });
});

describe('validateStreamId', () => {
  it('accepts up to 512 characters, not starting with $', () => {
    assert.equal(validateStreamId('a$b'), 'a$b');
    assert.equal(validateStreamId('x'.repeat(512)).length, 512);
    assert.equal(field(() => validateStreamId('$x', 'stream')), 'stream');
  });
});

describe('validateFilter', () => {
  it('keeps only the criteria backends evaluate, with tagMatch filled in', () => {
    assert.deepEqual(validateFilter({ types: ['A', 'A', 'B'], payload: { x: 1 } }), { types: ['A', 'B'], tagMatch: 'any' });
  });
});

describe('validateSubscriptionSpec', () => {
  it('selector shapes depend on the type', () => {
    assert.equal(field(() => validateSubscriptionSpec({ type: 'by_event_type', selector: ['A'], name: 'n' })), 'spec.selector');
    assert.equal(field(() => validateSubscriptionSpec({ type: 'by_tags', selector: 'a', name: 'n' })), 'spec.selector');
    assert.equal(field(() => validateSubscriptionSpec({ type: 'by_event_pattern', selector: '', name: 'n' })), 'spec.selector');
    assert.deepEqual(validateSubscriptionSpec({ type: 'by_tags', selector: ['a', 'a'], name: 'n' }).selector, ['a']);
  });
});

describe('canonicalJson', () => {
  it('is the same for values that differ only in key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        assert.equal(canonicalJson(reversed), canonicalJson(obj));
        assert.deepEqual(JSON.parse(canonicalJson(obj)), JSON.parse(JSON.stringify(obj)));
      }),
      { numRuns: 300, seed: 5 },
    );
  });

  it('treats a key named __proto__ as data', () => {
    const parsed = JSON.parse('{"b":1,"__proto__":{"x":2},"a":3}') as unknown;
    assert.equal(canonicalJson(parsed), '{"__proto__":{"x":2},"a":3,"b":1}');
  });
});
