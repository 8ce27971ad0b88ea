/** Transient subscriptions (`observe`) against real SQLite files. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError, UnavailableError } from '../../../src/errors/index.ts';
import type { SqliteEventStore } from '../../../src/store/sqlite/index.ts';
import { SubscriptionHub } from '../../../src/store/subscriptions/index.ts';
import type { ObserveSpec } from '../../../src/store/subscriptions/types.ts';
import type { NewEvent, RecordedEvent } from '../../../src/store/types.ts';
import { Reader, positionsOf } from './support/reader.ts';
import { makeTempDir, newEvents, openStore, readAllEvents, removeDir } from './support/sqlite.ts';

/** The greenhouse domain of the seed console, varied enough for every subscription type. */
function greenhouseEvent(i: number): { streamId: string; event: NewEvent } {
  const streamId = ['greenhouse-1', 'greenhouse-2', 'office-1'][i % 3]!;
  const kind = i % 4;
  const event: NewEvent =
    kind === 0
      ? { eventType: 'temperature_measured:v1', data: { temperature: 20 + (i % 7) }, tags: ['north'] }
      : kind === 1
        ? { eventType: 'fan_activated:v1', data: { intensity: i % 100 }, tags: ['south'] }
        : kind === 2
          ? { eventType: 'desired_temperature_set:v1', data: { temperature: 25, operator: i % 3 ? 'John' : 'Jane' }, tags: ['north', 'south'] }
          : { eventType: 'light_measured:v1', data: { light: i }, tags: [] };
  return { streamId, event };
}

/** Each observed spec with an independent statement of what it selects. */
const SPECS: { spec: ObserveSpec; selects: (e: RecordedEvent) => boolean }[] = [
  { spec: { type: 'by_stream', selector: '$all' }, selects: () => true },
  { spec: { type: 'by_stream', selector: 'greenhouse-2' }, selects: (e) => e.streamId === 'greenhouse-2' },
  { spec: { type: 'by_event_type', selector: 'fan_activated:v1' }, selects: (e) => e.eventType === 'fan_activated:v1' },
  { spec: { type: 'by_event_pattern', selector: 'greenhouse-*' }, selects: (e) => e.streamId.startsWith('greenhouse-') },
  { spec: { type: 'by_event_pattern', selector: '?ffice-1' }, selects: (e) => e.streamId === 'office-1' },
  {
    spec: { type: 'by_event_payload', selector: { operator: 'John' } },
    selects: (e) => (e.data as { operator?: string }).operator === 'John',
  },
  {
    spec: { type: 'by_event_payload', selector: { intensity: { $exists: true } } },
    selects: (e) => Object.hasOwn(e.data as object, 'intensity'),
  },
  { spec: { type: 'by_tags', selector: ['south'] }, selects: (e) => e.tags.includes('south') },
  {
    spec: { type: 'by_tags', selector: ['north', 'south'], options: { tagMatch: 'all' } },
    selects: (e) => e.tags.includes('north') && e.tags.includes('south'),
  },
];

describe('observe (transient subscriptions) on SQLite', () => {
  let dir: string;
  let store: SqliteEventStore;
  let hub: SubscriptionHub;
  let appended = 0;

  async function appendGreenhouse(count: number): Promise<void> {
    for (let k = 0; k < count; k++) {
      const { streamId, event } = greenhouseEvent(appended++);
      await store.append(streamId, [event]);
    }
  }


  before(async () => {
    dir = await makeTempDir();
    store = await openStore(dir);
    hub = new SubscriptionHub({ store });
  });

  after(async () => {
    await hub.close();
    await store.close();
    await removeDir(dir);
  });

  it('every type receives exactly its events: history from startFrom, then live, no gap and no duplicate at the seam', async () => {
    await appendGreenhouse(120);
    const startFrom = 37;
    const readers = await Promise.all(
      SPECS.map(async ({ spec }) => new Reader(await hub.observe({ ...spec, startFrom }))),
    );
    // Live events arrive while the subscribers are still replaying.
    const live = appendGreenhouse(120);
    const events = await (async () => {
      await live;
      return readAllEvents(store);
    })();
    for (const [i, { spec, selects }] of SPECS.entries()) {
      const expected = events.filter((e) => e.position >= startFrom && selects(e)).map((e) => e.position);
      assert.ok(expected.length > 5, `${spec.type} ${JSON.stringify(spec.selector)} selects something`);
      const got = await readers[i]!.take(expected.length);
      assert.deepEqual(positionsOf(got), expected, `${spec.type} ${JSON.stringify(spec.selector)}`);
      assert.ok(got.every((d) => d.attempt === 1));
      assert.ok(await readers[i]!.quietFor(50), 'nothing more than the matching events');
    }
  });

  it('replay racing concurrent appenders: the exact sequence of positions, across thousands of events', async () => {
    const dir2 = await makeTempDir();
    const s = await openStore(dir2);
    // Small reads, so that the catch-up makes many reads interleaved with the appenders' commits.
    const h = new SubscriptionHub({ store: s }, { readBatchEvents: 64 });
    try {
      await s.append('history', newEvents(3_000, { eventType: 'a' }));
      const all = new Reader(await h.observe({ type: 'by_stream', selector: '$all', startFrom: 0 }));
      const onlyB = new Reader(await h.observe({ type: 'by_event_type', selector: 'b', startFrom: 0 }));
      const batches = Array.from({ length: 4 }, (_, w) => Array.from({ length: 250 }, (_, i) => 1 + ((i * 7 + w) % 4)));
      const total = 3_000 + batches.flat().reduce((a, b) => a + b, 0);
      const appenders = batches.map(async (sizes, w) => {
        for (const [i, size] of sizes.entries()) {
          await s.append(`appender-${w}`, newEvents(size, { eventType: i % 2 ? 'a' : 'b' }));
        }
      });
      const gotAll = all.take(total, 60_000);
      await Promise.all(appenders);
      const events = await readAllEvents(s);
      assert.equal(events.length, total);
      assert.deepEqual(
        positionsOf(await gotAll),
        events.map((e) => e.position),
      );
      const expectedB = events.filter((e) => e.eventType === 'b').map((e) => e.position);
      assert.deepEqual(positionsOf(await onlyB.take(expectedB.length, 60_000)), expectedB);
      assert.ok(await all.quietFor(50));
      assert.ok(await onlyB.quietFor(50));
    } finally {
      await h.close();
      await s.close();
      await removeDir(dir2);
    }
  });

  it('catches up over events too large for one page without waiting for another commit', async () => {
    const dir2 = await makeTempDir();
    const s = await openStore(dir2);
    const h = new SubscriptionHub({ store: s });
    try {
      // Three events of 5 MB: the store answers them two and one (READ_PAGE_BYTES_MAX), and the second page is short
      // without being the head. Nothing is appended afterwards to wake the reader.
      for (let n = 0; n < 3; n++) await s.append('big', [{ eventType: 'Big', data: `${n}`.padEnd(5_000_000, 'x') }]);
      const reader = new Reader(await h.observe({ type: 'by_stream', selector: '$all', startFrom: 0 }));
      assert.deepEqual(positionsOf(await reader.take(3, 10_000)), [0, 1, 2]);
      assert.ok(await reader.quietFor(50));
    } finally {
      await h.close();
      await s.close();
      await removeDir(dir2);
    }
  });

  it('without startFrom, delivers only what is committed after subscribing', async () => {
    await appendGreenhouse(10);
    const head = (await store.stats()).lastPosition;
    const reader = new Reader(await hub.observe({ type: 'by_stream', selector: '$all' }));
    await store.append('later', newEvents(5));
    assert.deepEqual(positionsOf(await reader.take(5)), [1, 2, 3, 4, 5].map((k) => head + k));
    assert.ok(await reader.quietFor(50));
  });

  it('an append racing the subscription is delivered exactly when it committed after the head was taken', async () => {
    for (let round = 0; round < 20; round++) {
      const subscribing = hub.observe({ type: 'by_stream', selector: 'seam' });
      const appending = store.append('seam', newEvents(1));
      const observation = await subscribing;
      const reader = new Reader(observation);
      const raced = (await appending).position;
      const marker = (await store.append('seam', newEvents(1))).position;
      const got: number[] = [];
      while (got.at(-1) !== marker) got.push((await reader.next())!.event.position);
      assert.ok(
        (got.length === 2 && got[0] === raced) || got.length === 1,
        `the racing append at most once, before the marker: ${got.join(',')}`,
      );
      observation.close();
    }
  });

  it('resumes with startFrom after a reconnect, missing nothing', async () => {
    const first = await hub.observe({ type: 'by_stream', selector: 'resume' });
    const reader = new Reader(first);
    await store.append('resume', newEvents(4));
    const seen = await reader.take(2);
    first.close();
    assert.equal(await first.ended, 'closed');
    await store.append('resume', newEvents(3));
    const resumed = new Reader(
      await hub.observe({ type: 'by_stream', selector: 'resume', startFrom: seen[1]!.event.position + 1 }),
    );
    const rest = await resumed.take(5);
    assert.deepEqual(
      [...seen, ...rest].map((d) => d.event.version),
      [0, 1, 2, 3, 4, 5, 6],
    );
  });

  it('close ends the iteration with its reason; the hub closing ends every observation', async () => {
    const a = await hub.observe({ type: 'by_event_type', selector: 'never' });
    const reader = new Reader(a);
    a.close('consumer gone');
    assert.equal(await a.ended, 'consumer gone');
    assert.ok(await reader.ends());

    const dir2 = await makeTempDir();
    const s = await openStore(dir2);
    const h = new SubscriptionHub({ store: s });
    const b = await h.observe({ type: 'by_stream', selector: '$all' });
    const bReader = new Reader(b);
    const pending = bReader.next();
    await h.close();
    assert.equal(await b.ended, 'closed');
    assert.equal(await pending, undefined);
    await assert.rejects(h.observe({ type: 'by_stream', selector: '$all' }), UnavailableError);
    await s.close();
    await removeDir(dir2);
  });

  it('rejects a bad request naming the field', async () => {
    const invalid = (field: string) => (err: unknown) => err instanceof InvalidArgumentError && err.data['field'] === field;
    await assert.rejects(hub.observe({ type: 'by_tags', selector: 'north' }), invalid('selector'));
    await assert.rejects(hub.observe({ type: 'by_stream', selector: '$all', startFrom: -1 }), invalid('startFrom'));
    await assert.rejects(
      hub.observe({ type: 'by_tags', selector: ['a'], options: { tagMatch: 'some' as 'any' } }),
      invalid('options.tagMatch'),
    );
  });
});
