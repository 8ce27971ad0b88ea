/** Contract: stream reads, filtered `$all` reads, stream listing, stats, deletion, append listeners. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { EventStore } from '../../../src/store/event-store.ts';
import type { EventFilter, NewEvent, RecordedEvent } from '../../../src/store/types.ts';
import { ev, evs, idealFilter, readAll, rejectsWith, withStore, type StoreFactory } from './support.ts';

/** Reads `filter` in pages of `limit` from `from`, following `scannedTo`, and checks each page's `scannedTo`. */
async function pageThrough(
  store: EventStore,
  filter: EventFilter,
  limit: number,
  from = 0,
): Promise<RecordedEvent[]> {
  const head = (await store.stats()).lastPosition;
  const seen: RecordedEvent[] = [];
  for (let pages = 0; ; pages++) {
    assert.ok(pages <= 10_000, 'paging terminates');
    const page = await store.readFiltered(filter, from, limit);
    assert.ok(page.events.length <= limit);
    for (const e of page.events) assert.ok(e.position >= from && e.position <= page.scannedTo);
    if (page.events.length === limit) {
      assert.equal(page.scannedTo, page.events[limit - 1]!.position, 'a full page is scanned to its last event');
    } else {
      assert.equal(page.scannedTo, head, 'a short page is scanned to the head');
    }
    seen.push(...page.events);
    if (page.events.length < limit) return seen;
    from = page.scannedTo + 1;
  }
}

/** Every event from position 0, in pages of `limit`, following `scannedTo` until a page comes back empty. */
async function pageThroughAll(store: EventStore, limit: number): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  for (let from = 0, pages = 0; ; pages++) {
    assert.ok(pages <= 100, 'paging terminates');
    const page = await store.readFiltered({}, from, limit);
    if (page.events.length === 0) return seen;
    seen.push(...page.events);
    from = page.scannedTo + 1;
  }
}

/** A small mixed store: streams, types and tags chosen so that each filter selects a proper subset. */
async function fillMixed(store: EventStore): Promise<void> {
  const plan: [string, NewEvent[]][] = [
    ['greenhouse-1', [ev('Temp', { tags: ['gh1', 'sensor'] }), ev('Humidity', { tags: ['gh1'] })]],
    ['greenhouse-2', [ev('Temp', { tags: ['gh2', 'sensor'] })]],
    ['orders-1', [ev('OrderPlaced', { tags: ['shop'] }), ev('OrderPaid'), ev('Temp')]],
    ['greenhouse-10', [ev('Light', { tags: ['gh10', 'sensor'] })]],
    ['greenhouse-1', [ev('Temp', { tags: ['sensor'] }), ev('Alarm', { tags: ['gh1', 'alarm'] })]],
    ['green[1]', [ev('Temp', { tags: ['odd'] })]],
    ['green_1%', [ev('Temp')]],
    ['Greenhouse-3', [ev('Temp', { tags: ['GH3'] })]],
  ];
  for (const [streamId, events] of plan) await store.append(streamId, events);
}

export function readContract(f: StoreFactory): void {
  describe('readStream', () => {
    it('reads forward and backward from a version with a count', () =>
      withStore(f, async (store) => {
        await store.append('s', evs(10));
        await store.append('other', evs(3));
        const versions = async (options: Parameters<EventStore['readStream']>[1]) =>
          (await store.readStream('s', options)).map((e) => e.version);
        assert.deepEqual(await versions({ count: 100 }), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(await versions({ fromVersion: 3, count: 4 }), [3, 4, 5, 6]);
        assert.deepEqual(await versions({ fromVersion: 8, count: 5 }), [8, 9]);
        assert.deepEqual(await versions({ fromVersion: 10, count: 5 }), []);
        assert.deepEqual(await versions({ direction: 'backward', count: 3 }), [9, 8, 7]);
        assert.deepEqual(await versions({ direction: 'backward', fromVersion: 2, count: 5 }), [2, 1, 0]);
        assert.deepEqual(await versions({ direction: 'backward', fromVersion: 50, count: 2 }), [9, 8]);
        assert.deepEqual(await store.readStream('missing', { count: 5 }), []);
        assert.deepEqual(await store.readStream('missing', { count: 5, direction: 'backward' }), []);
        const [e] = await store.readStream('s', { fromVersion: 4, count: 1 });
        assert.deepEqual(e?.data, { n: 4 });
      }));

    it('rejects bad read options, naming them', () =>
      withStore(f, async (store) => {
        await rejectsWith(store.readStream('', { count: 1 }), 'invalid_argument', 'streamId');
        await rejectsWith(store.readStream('s', { count: 0 }), 'invalid_argument', 'count');
        await rejectsWith(store.readStream('s', { count: 1.5 }), 'invalid_argument', 'count');
        await rejectsWith(store.readStream('s', { count: 10_001 }), 'invalid_argument', 'count');
        await rejectsWith(store.readStream('s', { count: 1, fromVersion: -1 }), 'invalid_argument', 'fromVersion');
        await rejectsWith(
          store.readStream('s', { count: 1, direction: 'sideways' as 'forward' }),
          'invalid_argument',
          'direction',
        );
      }));
  });

  describe('readFiltered', () => {
    it('pages through $all, each event once, in position order, with scannedTo as documented', () =>
      withStore(f, async (store) => {
        for (let i = 0; i < 7; i++) await store.append(`s-${i % 3}`, evs(i + 1));
        const all = await pageThrough(store, {}, 1000);
        assert.deepEqual(
          all.map((e) => e.position),
          Array.from({ length: 28 }, (_, i) => i),
        );
        for (const limit of [1, 3, 7, 28, 29]) {
          assert.deepEqual(await pageThrough(store, {}, limit), all, `pages of ${limit}`);
        }
        assert.deepEqual(await pageThrough(store, {}, 5, 20), all.slice(20));
        const past = await store.readFiltered({}, 100, 5);
        assert.deepEqual(past, { events: [], scannedTo: 27 });
      }));

    it('cuts a page of large events short by bytes, and a reader following scannedTo misses none', () =>
      withStore(f, async (store) => {
        // Five events of 5 MB: two fit READ_PAGE_BYTES_MAX (12 MiB), three do not.
        const big = (n: number): NewEvent => ({ eventType: 'Big', data: `${n}`.padEnd(5_000_000, 'x') });
        for (let n = 0; n < 5; n++) await store.append('big', [big(n)]);
        await store.append('small', evs(2));
        const page = await store.readFiltered({}, 0, 100);
        assert.deepEqual(page.events.map((e) => e.position), [0, 1]);
        assert.equal(page.scannedTo, 1, 'a page cut short is scanned to its last event');
        assert.deepEqual((await pageThroughAll(store, 100)).map((e) => e.position), [0, 1, 2, 3, 4, 5, 6]);
        const versions = async (options: Parameters<EventStore['readStream']>[1]) =>
          (await store.readStream('big', options)).map((e) => e.version);
        assert.deepEqual(await versions({ count: 100 }), [0, 1]);
        assert.deepEqual(await versions({ fromVersion: 2, count: 100 }), [2, 3]);
        assert.deepEqual(await versions({ fromVersion: 4, count: 100 }), [4]);
        assert.deepEqual(await versions({ direction: 'backward', count: 100 }), [4, 3]);
        const [fifth] = await store.readStream('big', { fromVersion: 4, count: 1 });
        assert.equal((fifth?.data as string).length, 5_000_000);
      }));

    it('fetches no more than two rows past a page cut short by bytes, however many events were asked for', () =>
      withStore(f, async (store) => {
        // Six events of 5 MB (pages of two) and two of 13 MB, each alone over READ_PAGE_BYTES_MAX (pages of one).
        const big = (n: number, size: number): NewEvent => ({
          eventType: size > 6_000_000 ? 'Huge' : 'Big',
          data: `${n}`.padEnd(size, 'x'),
          tags: [size > 6_000_000 ? 'huge' : 'big'],
        });
        for (let n = 0; n < 6; n++) await store.append('big', [big(n, 5_000_000)]);
        for (let n = 0; n < 2; n++) await store.append('huge', [big(n, 13_000_000)]);
        const fetched = () => {
          const count = (store as unknown as { rowsFetched?: number }).rowsFetched;
          assert.equal(typeof count, 'number', 'the store counts the rows its reads fetch');
          return count!;
        };
        const reads: [string, () => Promise<RecordedEvent[]>, number[]][] = [
          ['a stream forward', () => store.readStream('big', { count: 1000 }), [0, 1]],
          ['a stream backward', () => store.readStream('big', { direction: 'backward', count: 1000 }), [5, 4]],
          ['huge events forward', () => store.readStream('huge', { count: 1000 }), [6]],
          ['huge events backward', () => store.readStream('huge', { direction: 'backward', count: 1000 }), [7]],
          ['$all', async () => (await store.readFiltered({}, 0, 1000)).events, [0, 1]],
          ['$all from the huge events', async () => (await store.readFiltered({}, 6, 1000)).events, [6]],
          ['by stream', async () => (await store.readFiltered({ streamId: 'big' }, 2, 1000)).events, [2, 3]],
          ['by type', async () => (await store.readFiltered({ types: ['Big', 'Huge'] }, 4, 1000)).events, [4, 5]],
          ['by tag', async () => (await store.readFiltered({ tags: ['huge'] }, 0, 1000)).events, [6]],
        ];
        for (const [name, read, positions] of reads) {
          const before = fetched();
          const events = await read();
          assert.deepEqual(events.map((e) => e.position), positions, name);
          assert.ok(fetched() - before <= positions.length + 2, `${name}: fetched ${fetched() - before} rows`);
        }
        // A reader following scannedTo through the huge events gets each of them, one page each.
        const first = await store.readFiltered({ tags: ['huge'] }, 0, 1000);
        assert.equal(first.scannedTo, 6, 'a page of one huge event is cut short, not taken for the head');
        assert.deepEqual((await store.readFiltered({ tags: ['huge'] }, 7, 1000)).events.map((e) => e.position), [7]);
      }));

    it('reports the last position as stats does: -1 when empty, unchanged by a deletion', () =>
      withStore(f, async (store) => {
        assert.equal(await store.lastPosition(), -1);
        await store.append('a', evs(3));
        await store.append('b', evs(2));
        assert.equal(await store.lastPosition(), 4);
        await store.deleteStream('b');
        assert.equal(await store.lastPosition(), 4, 'positions are not reused');
        assert.equal(await store.lastPosition(), (await store.stats()).lastPosition);
      }));

    it('reports scannedTo -1 and no events on an empty store', () =>
      withStore(f, async (store) => {
        assert.deepEqual(await store.readFiltered({}, 0, 10), { events: [], scannedTo: -1 });
        assert.deepEqual(await store.readFiltered({ types: ['A'] }, 0, 10), { events: [], scannedTo: -1 });
      }));

    const filters: [string, EventFilter][] = [
      ['streamId', { streamId: 'greenhouse-1' }],
      ['streamId and minVersion', { streamId: 'greenhouse-1', minVersion: 2 }],
      ['streamId of a missing stream', { streamId: 'nope' }],
      ['streamPattern with *', { streamPattern: 'greenhouse-*' }],
      ['streamPattern with ?', { streamPattern: 'greenhouse-?' }],
      ['streamPattern is case-sensitive', { streamPattern: 'Greenhouse*' }],
      ['streamPattern with a literal [', { streamPattern: 'green[1]' }],
      ['streamPattern with literal _ and %', { streamPattern: 'green_1%' }],
      ['streamPattern without wildcards', { streamPattern: 'orders-1' }],
      ['one type', { types: ['Temp'] }],
      ['several types', { types: ['Humidity', 'OrderPaid', 'Alarm'] }],
      ['one tag', { tags: ['sensor'] }],
      ['tags, any', { tags: ['gh1', 'shop', 'gh10'], tagMatch: 'any' }],
      ['tags, all', { tags: ['gh1', 'sensor'], tagMatch: 'all' }],
      ['tags are case-sensitive', { tags: ['gh3'] }],
      ['types and tags', { types: ['Temp', 'Light'], tags: ['sensor'] }],
      ['types and all tags', { types: ['Temp'], tags: ['sensor', 'gh2'], tagMatch: 'all' }],
      ['pattern and types', { streamPattern: 'greenhouse-*', types: ['Temp', 'Alarm'] }],
      ['pattern, types and tags', { streamPattern: 'green*', types: ['Temp'], tags: ['gh1', 'odd'] }],
      ['streamId, types and tags', { streamId: 'greenhouse-1', types: ['Temp'], tags: ['sensor'] }],
    ];
    for (const [name, filter] of filters) {
      it(`filters by ${name}`, () =>
        withStore(f, async (store) => {
          await fillMixed(store);
          const expected = (await readAll(store)).filter((e) => idealFilter(filter, e));
          for (const limit of [1, 2, 100]) {
            assert.deepEqual(
              (await pageThrough(store, filter, limit)).map((e) => e.position),
              expected.map((e) => e.position),
              `pages of ${limit}`,
            );
          }
          if (name !== 'streamId of a missing stream' && name !== 'tags are case-sensitive') {
            assert.ok(expected.length > 0, 'the case selects something');
          }
        }));
    }

    it('reads a stream from a position in its middle', () =>
      withStore(f, async (store) => {
        for (let i = 0; i < 40; i++) await store.append(i % 4 === 0 ? 'target' : `noise-${i % 3}`, evs(1 + (i % 3)));
        const target = (await readAll(store)).filter((e) => e.streamId === 'target');
        for (const from of [0, 1, target[3]!.position, target[3]!.position + 1, target.at(-1)!.position + 1]) {
          const page = await store.readFiltered({ streamId: 'target' }, from, 1000);
          assert.deepEqual(
            page.events.map((e) => e.position),
            target.filter((e) => e.position >= from).map((e) => e.position),
            `from ${from}`,
          );
        }
      }));

    it('matches an ideal filter on random stores, filters and page sizes', () =>
      withStore(f, async (store) => {
        const streams = ['a-1', 'a-2', 'ab-1', 'b-1', 'b[2]'];
        const types = ['T1', 'T2', 'T3'];
        const tags = ['x', 'y', 'z'];
        const rng = mulberry32(7);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
        for (let i = 0; i < 60; i++) {
          const events = Array.from({ length: 1 + Math.floor(rng() * 3) }, () =>
            ev(pick(types), { tags: tags.filter(() => rng() < 0.4) }),
          );
          await store.append(pick(streams), events);
        }
        const all = await readAll(store);
        const filter = fc.record(
          {
            streamId: fc.constantFrom(...streams),
            streamPattern: fc.constantFrom('a-*', 'a*', '?-1', 'b[2]', '*', 'a-?', '*-1'),
            minVersion: fc.integer({ min: 0, max: 6 }),
            types: fc.uniqueArray(fc.constantFrom(...types), { minLength: 1 }),
            tags: fc.uniqueArray(fc.constantFrom(...tags), { minLength: 1 }),
            tagMatch: fc.constantFrom('any' as const, 'all' as const),
          },
          { requiredKeys: [] },
        );
        await fc.assert(
          fc.asyncProperty(filter, fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 40 }), async (flt, limit, from) => {
            const expected = all.filter((e) => e.position >= from && idealFilter(flt, e));
            const got = await pageThrough(store, flt, limit, from);
            assert.deepEqual(got, expected);
          }),
          { numRuns: 150, seed: 42 },
        );
      }));

    it('rejects bad filters and paging, naming the field', () =>
      withStore(f, async (store) => {
        await rejectsWith(store.readFiltered({ streamId: '' }, 0, 1), 'invalid_argument', 'filter.streamId');
        await rejectsWith(store.readFiltered({ streamPattern: '' }, 0, 1), 'invalid_argument', 'filter.streamPattern');
        await rejectsWith(store.readFiltered({ types: [] }, 0, 1), 'invalid_argument', 'filter.types');
        await rejectsWith(store.readFiltered({ tags: ['a', ''] }, 0, 1), 'invalid_argument', 'filter.tags[1]');
        await rejectsWith(
          store.readFiltered({ tags: ['a'], tagMatch: 'most' as 'all' }, 0, 1),
          'invalid_argument',
          'filter.tagMatch',
        );
        await rejectsWith(store.readFiltered({ minVersion: -1 }, 0, 1), 'invalid_argument', 'filter.minVersion');
        await rejectsWith(store.readFiltered({}, -1, 1), 'invalid_argument', 'fromPosition');
        await rejectsWith(store.readFiltered({}, 0, 0), 'invalid_argument', 'limit');
      }));
  });

  describe('readPositions', () => {
    it('reads the events that exist at the given positions, by position', () =>
      withStore(f, async (store) => {
        await store.append('a', evs(3));
        await store.append('b', evs(2));
        await store.deleteStream('a');
        const got = await store.readPositions([4, 1, 3, 99]);
        assert.deepEqual(
          got.map((e) => [e.streamId, e.position]),
          [['b', 3], ['b', 4]],
        );
        assert.deepEqual(await store.readPositions([]), []);
        await rejectsWith(store.readPositions([1, -2]), 'invalid_argument', 'positions[1]');
      }));
  });

  describe('streams, stats, deletion', () => {
    it('lists streams with their versions and counts them', () =>
      withStore(f, async (store) => {
        assert.deepEqual(await store.stats(), { hasEvents: false, lastPosition: -1, streamCount: 0 });
        assert.deepEqual(await store.listStreams(), []);
        await store.append('b', evs(2));
        await store.append('a', evs(1));
        const streams = await store.listStreams();
        assert.deepEqual(
          [...streams].sort((x, y) => x.streamId.localeCompare(y.streamId)),
          [
            { streamId: 'a', version: 0 },
            { streamId: 'b', version: 1 },
          ],
        );
        assert.deepEqual(await store.stats(), { hasEvents: true, lastPosition: 2, streamCount: 2 });
      }));

    it('deletes a stream: its events go, its positions are never reused, it can start again', () =>
      withStore(f, async (store) => {
        await store.append('keep', evs(1));
        await store.append('gone', [ev('A', { tags: ['t'] }), ev('B', { tags: ['t', 'u'] })]);
        await store.deleteStream('gone');
        assert.equal(await store.streamVersion('gone'), -1);
        assert.deepEqual(await store.readStream('gone', { count: 10 }), []);
        assert.deepEqual((await store.readFiltered({ tags: ['t'] }, 0, 10)).events, []);
        assert.deepEqual((await store.readFiltered({ types: ['A'] }, 0, 10)).events, []);
        assert.deepEqual((await store.readFiltered({ streamId: 'gone' }, 0, 10)).events, []);
        assert.deepEqual(await store.listStreams(), [{ streamId: 'keep', version: 0 }]);
        assert.deepEqual(await store.stats(), { hasEvents: true, lastPosition: 2, streamCount: 1 });

        assert.deepEqual(await store.append('gone', [ev('C', { tags: ['t'] })], { expectedVersion: -1 }), {
          version: 0,
          position: 3,
        });
        assert.deepEqual(
          (await store.readFiltered({ tags: ['t'] }, 0, 10)).events.map((e) => [e.streamId, e.version, e.position]),
          [['gone', 0, 3]],
        );
        await rejectsWith(store.deleteStream('never'), 'stream_not_found');
        await rejectsWith(store.deleteStream('$all'), 'invalid_argument', 'streamId');
      }));

    it('never hands out the positions of a deleted tail again', () =>
      withStore(f, async (store) => {
        await store.append('a', evs(2));
        await store.append('tail', evs(3));
        await store.deleteStream('tail');
        assert.equal((await store.stats()).lastPosition, 4);
        assert.deepEqual(await store.append('a', evs(1)), { version: 2, position: 5 });
      }));
  });

  describe('onAppend', () => {
    it('tells listeners about committed events in position order; a throwing listener harms nobody', () =>
      withStore(f, async (store) => {
        const heard: RecordedEvent[] = [];
        const removeThrower = store.onAppend(() => {
          throw new Error('listener bug');
        });
        const remove = store.onAppend((events) => heard.push(...events));
        const results = await Promise.allSettled([
          store.append('a', [ev('A1', { data: { x: 1 }, tags: ['t'] }), ev('A2')]),
          store.append('b', evs(1), { expectedVersion: 5 }),
          store.append('b', [ev('B1', { metadata: { correlationId: 'c' } })]),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        );
        await store.append('a', [ev('A3')]);
        assert.deepEqual(
          heard.map((e) => [e.eventType, e.streamId, e.version, e.position]),
          [
            ['A1', 'a', 0, 0],
            ['A2', 'a', 1, 1],
            ['B1', 'b', 0, 2],
            ['A3', 'a', 2, 3],
          ],
        );
        assert.deepEqual(heard, await readAll(store), 'listeners see what readers see');

        remove();
        removeThrower();
        await store.append('a', [ev('A4')]);
        assert.equal(heard.length, 4);
      }));

    it('is not told about an append that repeated an earlier one', () =>
      withStore(f, async (store) => {
        const events = [ev('A', { eventId: '0190a3c4-0000-7000-8000-000000000001' })];
        await store.append('a', events);
        let heard = 0;
        store.onAppend((e) => (heard += e.length));
        await store.append('a', events);
        assert.equal(heard, 0);
      }));
  });
}

/** A small seeded PRNG, so the random store is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
