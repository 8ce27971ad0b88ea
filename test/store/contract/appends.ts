/** Contract: appends, expected versions, idempotency, input validation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WrongExpectedVersionError } from '../../../src/errors/index.ts';
import type { AppendOptions } from '../../../src/store/event-store.ts';
import { isUuid } from '../../../src/util/uuid.ts';
import { APPEND_TEXT_MAX_CHARS } from '../../../src/store/validate.ts';
import { ev, evs, readAll, rejectsWith, snapshotOf, withStore, type StoreFactory } from './support.ts';

/** A name where the interface wants a number, as untyped callers (JSON over RPC) may send it. */
const named = (name: string): AppendOptions => ({ expectedVersion: name as unknown as number });

const ID = (n: number): string => `0190a3c4-0000-7000-8000-${String(n).padStart(12, '0')}`;

export function appendContract(f: StoreFactory): void {
  describe('append', () => {
    it('numbers versions from 0 per stream and positions from 0 across the store, gap-free', () =>
      withStore(f, async (store) => {
        assert.deepEqual(await store.append('a', evs(3)), { version: 2, position: 2 });
        assert.deepEqual(await store.append('b', evs(1)), { version: 0, position: 3 });
        assert.deepEqual(await store.append('a', evs(2)), { version: 4, position: 5 });
        const all = await readAll(store);
        assert.deepEqual(
          all.map((e) => [e.streamId, e.version, e.position]),
          [['a', 0, 0], ['a', 1, 1], ['a', 2, 2], ['b', 0, 3], ['a', 3, 4], ['a', 4, 5]],
        );
        assert.equal(await store.streamVersion('a'), 4);
        assert.equal(await store.streamVersion('missing'), -1);
      }));

    it('records every field of an event', () =>
      withStore(f, async (store) => {
        const before = Date.now();
        await store.append('order-1', [
          {
            eventId: ID(1),
            eventType: 'OrderPlaced',
            data: { total: 12.5, lines: [{ sku: 'x', qty: 2 }], note: 'ünïcødé ✓' },
            metadata: { correlationId: 'c-1', causationId: 'k-1', user: 'ann' },
            tags: ['shop', 'eu'],
            dataContentType: 'application/vnd.order+json',
            metadataContentType: 'application/vnd.meta+json',
          },
          { eventType: 'Bare' },
        ]);
        const [full, bare] = await store.readStream('order-1', { count: 10 });
        assert.ok(full && bare);
        assert.equal(full.eventId, ID(1));
        assert.equal(full.eventType, 'OrderPlaced');
        assert.equal(full.streamId, 'order-1');
        assert.equal(full.version, 0);
        assert.equal(full.position, 0);
        assert.deepEqual(full.data, { total: 12.5, lines: [{ sku: 'x', qty: 2 }], note: 'ünïcødé ✓' });
        assert.deepEqual(full.metadata, { correlationId: 'c-1', causationId: 'k-1', user: 'ann' });
        assert.deepEqual(full.tags, ['shop', 'eu']);
        assert.equal(full.dataContentType, 'application/vnd.order+json');
        assert.equal(full.metadataContentType, 'application/vnd.meta+json');
        assert.ok(full.epochUs >= before * 1000 && full.epochUs <= (Date.now() + 1) * 1000, String(full.epochUs));
        assert.match(full.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,6}Z$/);
        assert.equal(Math.floor(Date.parse(full.timestamp)), Math.floor(full.epochUs / 1000));

        assert.ok(isUuid(bare.eventId) && bare.eventId[14] === '7', `generated id ${bare.eventId} is a UUIDv7`);
        assert.notEqual(bare.eventId, full.eventId);
        assert.equal(bare.data, null);
        assert.deepEqual(bare.metadata, {});
        assert.deepEqual(bare.tags, []);
        assert.equal(bare.dataContentType, 'application/json');
        assert.equal(bare.metadataContentType, 'application/json');
      }));

    it('keeps no reference to the caller objects', () =>
      withStore(f, async (store) => {
        const data = { n: 1 };
        const tags = ['t'];
        const pending = store.append('s', [{ eventType: 'E', data, tags }]);
        data.n = 2;
        tags.push('late');
        await pending;
        const [e] = await store.readStream('s', { count: 1 });
        assert.deepEqual(e?.data, { n: 1 });
        assert.deepEqual(e?.tags, ['t']);
        assert.deepEqual((await store.readFiltered({ tags: ['late'] }, 0, 10)).events, []);
      }));

    it('refuses U+0000 in every name, as both backends store them, naming the field; data may hold it', () =>
      withStore(f, async (store) => {
        await rejectsWith(store.append('a\u0000b', evs(1)), 'invalid_argument', 'streamId');
        await rejectsWith(store.append('s', [ev('A'), ev('B\u0000')]), 'invalid_argument', 'events[1].eventType');
        await rejectsWith(store.append('s', [ev('A', { tags: ['n\u0000'] })]), 'invalid_argument', 'events[0].tags[0]');
        await rejectsWith(store.append('s', [ev('A', { tags: ['ok', 'n\u0000'] })]), 'invalid_argument', 'events[0].tags[1]');
        await rejectsWith(store.readStream('a\u0000b', { count: 1 }), 'invalid_argument', 'streamId');
        await rejectsWith(store.streamVersion('a\u0000b'), 'invalid_argument', 'streamId');
        await rejectsWith(store.deleteStream('a\u0000b'), 'invalid_argument', 'streamId');
        await rejectsWith(store.readFiltered({ types: ['A\u0000'] }, 0, 10), 'invalid_argument', 'filter.types[0]');
        await rejectsWith(store.readFiltered({ tags: ['t\u0000'] }, 0, 10), 'invalid_argument', 'filter.tags[0]');
        await rejectsWith(
          store.recordSnapshot({ sourceUuid: 'a\u0000', streamUuid: 'b', version: 1, data: {} }),
          'invalid_argument',
          'snapshot.sourceUuid',
        );
        assert.equal(await store.streamVersion('s'), -1);
        await store.append('s', [ev('A', { data: { text: 'nul \u0000 inside data is fine' } })]);
        const [e] = await store.readStream('s', { count: 1 });
        assert.deepEqual(e?.data, { text: 'nul \u0000 inside data is fine' });
      }));

    it('keeps names outside the Basic Multilingual Plane (surrogate pairs) exactly, and finds events by them', () =>
      withStore(f, async (store) => {
        const stream = 'plant-\u{1F331}';
        const type = 'Sprouted\u{1F331}';
        const tag = 'bed:\u{1D4D1}';
        await store.append(stream, [{ eventType: type, data: { lone: '\ud800' }, tags: ['x', tag] }]);
        const [e] = await store.readStream(stream, { count: 1 });
        assert.equal(e?.streamId, stream);
        assert.equal(e?.eventType, type);
        assert.deepEqual(e?.tags, ['x', tag]);
        // JSON text escapes a lone surrogate, so data keeps one exactly.
        assert.deepEqual(e?.data, { lone: '\ud800' });
        assert.equal((await store.readFiltered({ types: [type] }, 0, 10)).events.length, 1);
        assert.equal((await store.readFiltered({ tags: [tag] }, 0, 10)).events.length, 1);
      }));
  });

  describe('expected version', () => {
    const cases: { name: string; options: AppendOptions; current: 'missing' | 'at 1'; ok: boolean }[] = [
      { name: 'exact, matching', options: { expectedVersion: 1 }, current: 'at 1', ok: true },
      { name: 'exact, behind', options: { expectedVersion: 0 }, current: 'at 1', ok: false },
      { name: 'exact, ahead', options: { expectedVersion: 2 }, current: 'at 1', ok: false },
      { name: 'exact on a missing stream', options: { expectedVersion: 0 }, current: 'missing', ok: false },
      { name: 'no_stream (-1) on a missing stream', options: { expectedVersion: -1 }, current: 'missing', ok: true },
      { name: 'no_stream (-1) on an existing stream', options: { expectedVersion: -1 }, current: 'at 1', ok: false },
      { name: "'no_stream' on a missing stream", options: named('no_stream'), current: 'missing', ok: true },
      { name: "'no_stream' on an existing stream", options: named('no_stream'), current: 'at 1', ok: false },
      { name: 'any (-2) on a missing stream', options: { expectedVersion: -2 }, current: 'missing', ok: true },
      { name: 'any (-2) on an existing stream', options: { expectedVersion: -2 }, current: 'at 1', ok: true },
      { name: "'any' on an existing stream", options: named('any'), current: 'at 1', ok: true },
      { name: 'absent on an existing stream', options: {}, current: 'at 1', ok: true },
      { name: 'stream_exists (-4) on an existing stream', options: { expectedVersion: -4 }, current: 'at 1', ok: true },
      { name: 'stream_exists (-4) on a missing stream', options: { expectedVersion: -4 }, current: 'missing', ok: false },
      { name: "'stream_exists' on an existing stream", options: named('stream_exists'), current: 'at 1', ok: true },
      { name: "'stream_exists' on a missing stream", options: named('stream_exists'), current: 'missing', ok: false },
      { name: "'1' (numeric string), matching", options: named('1'), current: 'at 1', ok: true },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.ok ? 'appends' : 'fails with the current version and writes nothing'}`, () =>
        withStore(f, async (store) => {
          await store.append('other', evs(1));
          if (c.current === 'at 1') await store.append('s', evs(2));
          const currentVersion = c.current === 'at 1' ? 1 : -1;
          const before = await snapshotOf(store);
          const append = store.append('s', evs(1, 'Next'), c.options);
          if (c.ok) {
            assert.deepEqual(await append, { version: currentVersion + 1, position: c.current === 'at 1' ? 3 : 1 });
            assert.equal(await store.streamVersion('s'), currentVersion + 1);
          } else {
            const err = await rejectsWith(append, 'wrong_expected_version');
            assert.ok(err instanceof WrongExpectedVersionError);
            assert.equal(err.currentVersion, currentVersion);
            assert.deepEqual(await snapshotOf(store), before);
          }
        }));
    }

    for (const bad of [-3, -5, 1.5, Number.NaN, 'sometimes', '', true, {}]) {
      it(`rejects expected version ${typeof bad === 'string' ? `'${bad}'` : String(bad)} as invalid_argument`, () =>
        withStore(f, async (store) => {
          await rejectsWith(store.append('s', evs(1), named(bad as string)), 'invalid_argument', 'expectedVersion');
          assert.equal(await store.streamVersion('s'), -1);
        }));
    }
  });

  describe('idempotent appends', () => {
    it('returns the first result for the same ids again and writes nothing, even with an expected version', () =>
      withStore(f, async (store) => {
        const events = [ev('A', { eventId: ID(1) }), ev('B', { eventId: ID(2) })];
        const first = await store.append('s', events, { expectedVersion: -1 });
        await store.append('s', evs(3));
        const before = await snapshotOf(store);
        assert.deepEqual(await store.append('s', events, { expectedVersion: -1 }), first);
        assert.deepEqual(await store.append('s', events), first);
        assert.deepEqual(await snapshotOf(store), before);
      }));

    it('treats ids case-insensitively', () =>
      withStore(f, async (store) => {
        const id = 'ABCDEF01-2345-7678-89AB-CDEF01234567';
        const first = await store.append('s', [ev('A', { eventId: id })]);
        assert.deepEqual(await store.append('s', [ev('A', { eventId: id.toLowerCase() })]), first);
        const [e] = await store.readStream('s', { count: 1 });
        assert.equal(e?.eventId, id.toLowerCase());
      }));

    it('answers a retried prefix of an earlier append with the result of those events', () =>
      withStore(f, async (store) => {
        await store.append('s', [ev('A', { eventId: ID(1) }), ev('B', { eventId: ID(2) }), ev('C', { eventId: ID(3) })]);
        assert.deepEqual(await store.append('s', [ev('A', { eventId: ID(1) }), ev('B', { eventId: ID(2) })]), {
          version: 1,
          position: 1,
        });
      }));

    it('rejects a partial overlap, naming the first event that differs, and writes nothing', () =>
      withStore(f, async (store) => {
        await store.append('s', [ev('A', { eventId: ID(1) }), ev('B', { eventId: ID(2) })]);
        const before = await snapshotOf(store);
        await rejectsWith(
          store.append('s', [ev('A', { eventId: ID(1) }), ev('X', { eventId: ID(9) })]),
          'invalid_argument',
          'events[1].eventId',
        );
        await rejectsWith(
          store.append('s', [ev('X', { eventId: ID(9) }), ev('B', { eventId: ID(2) })]),
          'invalid_argument',
          'events[1].eventId',
        );
        await rejectsWith(
          store.append('s', [ev('B', { eventId: ID(2) }), ev('A', { eventId: ID(1) })]),
          'invalid_argument',
          'events[1].eventId',
        );
        await rejectsWith(
          store.append('s', [ev('X'), ev('A', { eventId: ID(1) })]),
          'invalid_argument',
          'events[1].eventId',
        );
        assert.deepEqual(await snapshotOf(store), before);
      }));

    it('rejects an id recorded in another stream and writes nothing', () =>
      withStore(f, async (store) => {
        await store.append('s', [ev('A', { eventId: ID(1) })]);
        const before = await snapshotOf(store);
        await rejectsWith(store.append('t', [ev('A', { eventId: ID(1) })]), 'invalid_argument', 'events[0].eventId');
        await rejectsWith(
          store.append('t', [ev('Z', { eventId: ID(7) }), ev('A', { eventId: ID(1) })]),
          'invalid_argument',
          'events[1].eventId',
        );
        const many = Array.from({ length: 40 }, (_, i) => ev('M', { eventId: ID(100 + i), tags: ['m'] }));
        many[37] = ev('A', { eventId: ID(1) });
        await rejectsWith(store.append('t', many), 'invalid_argument', 'events[37].eventId');
        assert.deepEqual(await snapshotOf(store), before);
      }));

    it('rejects the same id twice in one append', () =>
      withStore(f, async (store) => {
        await rejectsWith(
          store.append('s', [ev('A', { eventId: ID(1) }), ev('B', { eventId: ID(2) }), ev('C', { eventId: ID(1) })]),
          'invalid_argument',
          'events[2].eventId',
        );
        assert.equal(await store.streamVersion('s'), -1);
      }));
  });

  describe('invalid input names its field and writes nothing', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const cases: { name: string; streamId?: unknown; events: unknown; field: string }[] = [
      { name: 'empty stream id', streamId: '', events: evs(1), field: 'streamId' },
      { name: 'reserved stream id', streamId: '$all', events: evs(1), field: 'streamId' },
      { name: 'stream id with a lone surrogate', streamId: 'a\ud800', events: evs(1), field: 'streamId' },
      { name: 'overlong stream id', streamId: 'x'.repeat(513), events: evs(1), field: 'streamId' },
      { name: 'stream id not a string', streamId: 42, events: evs(1), field: 'streamId' },
      { name: 'no events', events: [], field: 'events' },
      { name: 'events not an array', events: { eventType: 'A' }, field: 'events' },
      { name: 'too many events', events: evs(10_001), field: 'events' },
      { name: 'event not an object', events: [ev('A'), 'B'], field: 'events[1]' },
      { name: 'missing event type', events: [ev('A'), ev('B'), { data: 1 }], field: 'events[2].eventType' },
      { name: 'empty event type', events: [ev('')], field: 'events[0].eventType' },
      { name: 'overlong event type', events: [ev('E'.repeat(257))], field: 'events[0].eventType' },
      // Stored as UTF-8, a lone surrogate becomes U+FFFD: 'A\ud800' and 'A\udbff' would be one type, read back as neither.
      { name: 'event type with a lone surrogate', events: [ev('A'), ev('B\udc00')], field: 'events[1].eventType' },
      { name: 'event id not a UUID', events: [ev('A', { eventId: 'nope' })], field: 'events[0].eventId' },
      { name: 'metadata an array', events: [{ eventType: 'A', metadata: [] }], field: 'events[0].metadata' },
      { name: 'data with a BigInt', events: [{ eventType: 'A', data: { n: 1n } }], field: 'events[0].data' },
      { name: 'cyclic data', events: [ev('A'), { eventType: 'B', data: cyclic }], field: 'events[1].data' },
      { name: 'data a function', events: [{ eventType: 'A', data: () => 1 }], field: 'events[0].data' },
      { name: 'tags not an array', events: [{ eventType: 'A', tags: 'x' }], field: 'events[0].tags' },
      { name: 'an empty tag', events: [{ eventType: 'A', tags: ['ok', ''] }], field: 'events[0].tags[1]' },
      { name: 'a tag not a string', events: [{ eventType: 'A', tags: [7] }], field: 'events[0].tags[0]' },
      { name: 'a lone tag with a lone surrogate', events: [{ eventType: 'A', tags: ['t\ud800'] }], field: 'events[0].tags[0]' },
      { name: 'a tag with a lone surrogate', events: [{ eventType: 'A', tags: ['ok', '\udfff'] }], field: 'events[0].tags[1]' },
      {
        name: 'content type with a lone surrogate',
        events: [{ eventType: 'A', metadataContentType: 'text/\ud83d' }],
        field: 'events[0].metadataContentType',
      },
      {
        name: 'content type not a string',
        events: [{ eventType: 'A', dataContentType: 5 }],
        field: 'events[0].dataContentType',
      },
    ];
    for (const c of cases) {
      it(c.name, () =>
        withStore(f, async (store) => {
          await store.append('kept', evs(1));
          const before = await snapshotOf(store);
          await rejectsWith(
            store.append((c.streamId ?? 's') as string, c.events as never),
            'invalid_argument',
            c.field,
          );
          assert.deepEqual(await snapshotOf(store), before);
        }));
    }
  });

  describe('heavy appends', () => {
    it('refuses an append whose JSON texts total more than APPEND_TEXT_MAX_CHARS, writing nothing', () =>
      withStore(f, async (store) => {
        // Five events, each under the per-event bound, together one character over (each data adds two quotes).
        const fifth = 'x'.repeat(Math.floor(APPEND_TEXT_MAX_CHARS / 5) - 1);
        assert.equal(5 * (fifth.length + 2), APPEND_TEXT_MAX_CHARS + 1);
        const five = (data: string) => ['A', 'B', 'C', 'D', 'E'].map((type) => ev(type, { data }));
        const err = await rejectsWith(store.append('heavy', five(fifth)), 'invalid_argument', 'events');
        assert.match(err.message, /at most/);
        assert.equal(await store.streamVersion('heavy'), -1);
        await store.append('heavy', five(fifth.slice(1)));
        assert.equal(await store.streamVersion('heavy'), 4, 'just under the bound is written');
      }));
  });

  describe('appends whose callers stopped waiting', () => {
    it('are not written when their deadline passed or their signal aborted before they were taken', () =>
      withStore(f, async (store) => {
        const late = await rejectsWith(store.append('late', evs(2), { deadlineAt: Date.now() - 1 }), 'timeout');
        assert.match(late.message, /not written/);
        await rejectsWith(store.append('cancelled', evs(1), { signal: AbortSignal.abort() }), 'unavailable');
        // Made together with others that still wait: those are written, in their batch.
        const controller = new AbortController();
        const together = Promise.allSettled([
          store.append('kept', evs(1), { deadlineAt: Date.now() + 60_000 }),
          store.append('cancelled', evs(1), { signal: controller.signal, expectedVersion: -1 }),
          store.append('kept', evs(1), { signal: new AbortController().signal }),
        ]);
        controller.abort();
        const outcomes = await together;
        assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
        assert.equal(await store.streamVersion('late'), -1);
        assert.equal(await store.streamVersion('cancelled'), -1);
        assert.equal(await store.streamVersion('kept'), 1);
        assert.deepEqual((await readAll(store)).map((e) => e.position), [0, 1], 'no position spent on them');
      }));
  });

  describe('concurrent appends', () => {
    it('50 appenders racing on one stream with expected versions: one wins each version, nothing lost or doubled', () =>
      withStore(f, async (store) => {
        const appenders = 50;
        const wins = 8;
        const maxAttempts = 2_000;
        const won: { appender: number; version: number; position: number }[] = [];
        await Promise.all(
          Array.from({ length: appenders }, async (_, a) => {
            let attempts = 0;
            for (let w = 0; w < wins; ) {
              assert.ok(++attempts <= maxAttempts, `appender ${a} starved`);
              const version = await store.streamVersion('race');
              try {
                const result = await store.append('race', [{ eventType: 'Won', data: { a, w } }], {
                  expectedVersion: version,
                });
                won.push({ appender: a, ...result });
                w++;
              } catch (err) {
                if (!(err instanceof WrongExpectedVersionError)) throw err;
                assert.ok(err.currentVersion > version, 'a conflict means someone else moved the stream');
              }
            }
          }),
        );
        const total = appenders * wins;
        assert.equal(won.length, total);
        assert.deepEqual(
          won.map((r) => r.version).sort((x, y) => x - y),
          Array.from({ length: total }, (_, i) => i),
          'each version won exactly once',
        );
        const events = await store.readStream('race', { count: total + 1 });
        assert.deepEqual(
          events.map((e) => [e.version, e.position]),
          Array.from({ length: total }, (_, i) => [i, i]),
          'versions contiguous, positions gap-free',
        );
        const seen = new Set(events.map((e) => JSON.stringify(e.data)));
        assert.equal(seen.size, total, 'no event duplicated');
        for (const r of won) {
          const e = events[r.version]!;
          assert.equal(e.position, r.position);
          assert.equal((e.data as { a: number }).a, r.appender);
        }
      }));

    it('answers each of many appends made together on its own: an id used before fails only its append', () =>
      withStore(f, async (store) => {
        await store.append('old', [ev('A', { eventId: ID(1) })]);
        const outcomes = await Promise.allSettled([
          store.append('p', [ev('P', { eventId: ID(10) })]),
          store.append('q', [ev('Q', { eventId: ID(11) }), ev('Q', { eventId: ID(1), tags: ['t', 'v'] })]),
          store.append('r', [ev('R', { tags: ['t', 'u'] })]),
          store.append('p', [ev('P', { eventId: ID(12), tags: ['u'] })], { expectedVersion: 0 }),
          store.append('old', [ev('A', { eventId: ID(1) })]),
        ]);
        assert.deepEqual(
          outcomes.map((o) => (o.status === 'fulfilled' ? o.value.version : (o.reason as { code: string }).code)),
          [0, 'invalid_argument', 0, 1, 0],
        );
        assert.match((outcomes[1] as PromiseRejectedResult).reason.message, /events\[1\]\.eventId/);
        const all = await readAll(store);
        assert.deepEqual(
          all.map((e) => [e.streamId, e.version, e.position]),
          [['old', 0, 0], ['p', 0, 1], ['r', 0, 2], ['p', 1, 3]],
        );
        assert.deepEqual((await store.readFiltered({ tags: ['u'] }, 0, 10)).events.map((e) => e.position), [2, 3]);
        assert.deepEqual((await store.readFiltered({ tags: ['v'] }, 0, 10)).events, [], 'the refused append left no tag');
      }));

    it('of two appends made together with one new id, one writes it and the other is refused or repeats it', () =>
      withStore(f, async (store) => {
        const [inS, inT] = await Promise.allSettled([
          store.append('s', [ev('A', { eventId: ID(5) })]),
          store.append('t', [ev('A', { eventId: ID(5) })]),
        ]);
        assert.equal(inS.status, 'fulfilled', 'the first made is written');
        assert.equal(inT.status, 'rejected');
        assert.equal((inT as PromiseRejectedResult).reason.code, 'invalid_argument');
        const [first, retry] = await Promise.all([
          store.append('u', [ev('B', { eventId: ID(6) }), ev('B', { eventId: ID(7) })]),
          store.append('u', [ev('B', { eventId: ID(6) }), ev('B', { eventId: ID(7) })], { expectedVersion: -1 }),
        ]);
        assert.deepEqual(retry, first, 'a retry made while the first is in flight gets its answer');
        assert.equal((await readAll(store)).length, 3);
        // An id taken by an append made just before is reported as such, before any version check.
        const [taken, stale] = await Promise.allSettled([
          store.append('v', [ev('C', { eventId: ID(8) })]),
          store.append('w', [ev('C', { eventId: ID(8) })], { expectedVersion: 5 }),
        ]);
        assert.equal(taken.status, 'fulfilled');
        assert.equal((stale as PromiseRejectedResult).reason.code, 'invalid_argument');
        assert.match((stale as PromiseRejectedResult).reason.message, /another stream/);
      }));

    it('writes one stream\'s appends made together in the order they were made', () =>
      withStore(f, async (store) => {
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            store.append(`o-${i % 2}`, evs(1 + (i % 3)), i < 2 ? { expectedVersion: -1 } : named('stream_exists')),
          ),
        );
        const version = [-1, -1];
        results.forEach((r, i) => {
          const stream = i % 2;
          version[stream] = version[stream]! + 1 + (i % 3);
          assert.equal(r.version, version[stream], `append ${i}`);
        });
      }));
  });
}
