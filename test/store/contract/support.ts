/** Helpers shared by the event store contract suites. */
import assert from 'node:assert/strict';
import { GaterError, type ErrorCode } from '../../../src/errors/index.ts';
import type { EventStore } from '../../../src/store/event-store.ts';
import type { EventFilter, NewEvent, RecordedEvent } from '../../../src/store/types.ts';

/** Makes a fresh, open, empty store; `dispose` closes it and removes what it left behind. */
export interface StoreFactory {
  backend: string;
  create(): Promise<EventStore>;
  dispose(store: EventStore): Promise<void>;
}

export async function withStore<T>(factory: StoreFactory, fn: (store: EventStore) => Promise<T>): Promise<T> {
  const store = await factory.create();
  try {
    return await fn(store);
  } finally {
    await factory.dispose(store);
  }
}

/** Asserts that `promise` rejects with a GaterError of `code` (and, for invalid_argument, naming `field`). */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  field?: string,
): Promise<GaterError> {
  let caught: unknown;
  await promise.then(
    (value) => assert.fail(`expected ${code}${field === undefined ? '' : ` on ${field}`}, got ${JSON.stringify(value)}`),
    (err: unknown) => {
      caught = err;
    },
  );
  assert.ok(caught instanceof GaterError, `expected a GaterError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (field !== undefined) assert.equal(caught.data['field'], field, caught.message);
  return caught;
}

export function ev(eventType: string, extra: Partial<NewEvent> = {}): NewEvent {
  return { eventType, data: { at: eventType }, ...extra };
}

/** n events of one type, data numbered from `from`. */
export function evs(n: number, eventType = 'Happened', from = 0): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({ eventType, data: { n: from + i } }));
}

/** Every event in the store, by position, read through `$all` pages. */
export async function readAll(store: EventStore, pageSize = 1000): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  let from = 0;
  for (;;) {
    const page = await store.readFiltered({}, from, pageSize);
    all.push(...page.events);
    if (page.events.length < pageSize) return all;
    from = page.scannedTo + 1;
  }
}

/** The store's observable state, to show that a failed call wrote nothing. */
export async function snapshotOf(store: EventStore): Promise<unknown> {
  return { stats: await store.stats(), streams: await store.listStreams(), events: await readAll(store) };
}

/** Whether an ideal store's filter selects `e` (written independently of any backend's SQL). */
export function idealFilter(filter: EventFilter, e: RecordedEvent): boolean {
  if (filter.streamId !== undefined && e.streamId !== filter.streamId) return false;
  if (filter.streamPattern !== undefined && !wildcardMatches(filter.streamPattern, e.streamId)) return false;
  if (filter.minVersion !== undefined && e.version < filter.minVersion) return false;
  if (filter.types !== undefined && !filter.types.includes(e.eventType)) return false;
  if (filter.tags !== undefined) {
    const has = (t: string): boolean => e.tags.includes(t);
    if (filter.tagMatch === 'all' ? !filter.tags.every(has) : !filter.tags.some(has)) return false;
  }
  return true;
}

/** `*` any run of characters, `?` exactly one; everything else literal. Recursive, for short test strings. */
export function wildcardMatches(pattern: string, text: string): boolean {
  if (pattern === '') return text === '';
  const [p, ...rest] = pattern;
  const tail = rest.join('');
  if (p === '*') return wildcardMatches(tail, text) || (text !== '' && wildcardMatches(pattern, text.slice(1)));
  if (text === '') return false;
  return (p === '?' || p === text[0]) && wildcardMatches(tail, text.slice(1));
}
