/**
 * The two store calls the relay benchmark makes, as plain store calls (what travels to a worker): a cheap one, a
 * stream's version, over 100 streams that exist; and a single-event append, each caller on a stream of its own.
 */
import type { StoreCall } from '../../../src/worker/protocol.ts';
import { readingEvent } from './bench-events.ts';

export type BenchOp = 'streamVersion' | 'append';

/** Streams the cheap call reads; the set-up writes one event to each. */
export const VERSION_STREAMS = 100;

export function versionStream(i: number): string {
  return `version-${i % VERSION_STREAMS}`;
}

/** Appends go to one of 100 streams, so that each caller of 100 in flight mostly owns one. */
export function appendStream(i: number): string {
  return `append-${i % 100}`;
}

/** Call `i` as a store call. */
export function benchCall(store: string, op: BenchOp, i: number): StoreCall {
  return op === 'streamVersion'
    ? { store, op, args: { streamId: versionStream(i) } }
    : { store, op, args: { streamId: appendStream(i), events: [readingEvent(i, false)] } };
}

/** The set-up call `i` (0..99): one event in a stream the cheap call reads. */
export function setupCall(store: string, i: number): StoreCall<'append'> {
  return { store, op: 'append', args: { streamId: versionStream(i), events: [readingEvent(i, true)] } };
}
