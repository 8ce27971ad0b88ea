/**
 * The queue behind group commit: appends wait here and leave in batches bounded by their event count and by the
 * characters of their JSON texts (a few large appends make a batch as heavy as thousands of small ones). An index
 * into the array stands for the queue's head, so taking a batch costs a pass over what it takes, never a shift of the
 * whole queue; passing streams over costs one pass over what waits.
 *
 * An append whose caller stopped waiting before it was taken (its deadline passed, or its signal aborted) is never
 * written: the queue fails it when it reaches it, and it takes no room in the batch. Once taken, an append is written
 * whatever happens to its caller, and its outcome stands.
 */
import { GaterError, UnavailableError } from '../errors/index.ts';

/**
 * Most characters of JSON text (data, metadata, tags) in one batch, unless one append alone is larger. Past a few
 * MiB a batch gains nothing more from sharing a commit, while its statement text grows towards the limits of a
 * JavaScript string (512 Mi characters) and of the statement timeout.
 */
export const BATCH_CHARS_MAX = 8 * 1024 * 1024;

export interface QueuedAppend {
  streamId: string;
  prepared: { events: readonly unknown[]; chars: number };
  /** When the caller stops waiting, in ms since the epoch. */
  deadlineAt?: number | undefined;
  /** Aborted when the caller stops waiting early. */
  signal?: AbortSignal | undefined;
  reject(error: unknown): void;
}

/** Taken appends the array may hold before it is compacted (and then only when they are at least half of it). */
const COMPACT_AFTER = 1024;

export class AppendQueue<T extends QueuedAppend> {
  private items: T[] = [];
  private head = 0;
  private queuedEvents = 0;

  /** Appends waiting, not yet taken. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Events of the appends waiting. */
  get events(): number {
    return this.queuedEvents;
  }

  push(item: T): void {
    this.items.push(item);
    this.queuedEvents += item.prepared.events.length;
  }

  /**
   * Takes the oldest appends while their events stay within `maxEvents` and their characters within `maxChars`;
   * always at least one unless `onlyWhatFits`, so an append larger than a bound still goes (alone). Appends to a stream in `busyStreams` (one being written by
   * a batch in flight) are passed over and stay queued in their order, so that two batches in flight never hold the
   * same stream and a stream's appends are written in the order they were made. Empty when every waiting append is
   * passed over.
   */
  takeBatch(maxEvents: number, busyStreams?: ReadonlySet<string>, onlyWhatFits = false, maxChars = BATCH_CHARS_MAX): T[] {
    const now = Date.now();
    if (busyStreams !== undefined && busyStreams.size > 0) {
      return this.#takeAvoiding(maxEvents, maxChars, busyStreams, onlyWhatFits, now);
    }
    const items = this.items;
    const batch: T[] = [];
    let end = this.head;
    let events = 0;
    let chars = 0;
    while (end < items.length) {
      const item = items[end]!;
      const size = item.prepared.events.length;
      if (abandoned(item, now)) {
        this.queuedEvents -= size;
        end++;
        continue;
      }
      const weight = item.prepared.chars;
      if ((batch.length > 0 || onlyWhatFits) && (events + size > maxEvents || chars + weight > maxChars)) break;
      events += size;
      chars += weight;
      batch.push(item);
      end++;
    }
    if (end === items.length) {
      this.items = [];
      this.head = 0;
    } else {
      this.head = end;
      this.compact();
    }
    this.queuedEvents -= events;
    return batch;
  }

  /**
   * Drops the taken appends from the array once they are most of it. Under a load that never lets the queue empty,
   * they would otherwise stay referenced (events, answers and all) for as long as the load lasts.
   */
  private compact(): void {
    if (this.head < COMPACT_AFTER || this.head < this.items.length / 2) return;
    this.items = this.items.slice(this.head);
    this.head = 0;
  }

  /** Whether some waiting append is to a stream in none of `streamSets`. */
  hasAppendOutside(...streamSets: ReadonlySet<string>[]): boolean {
    for (let i = this.head; i < this.items.length; i++) {
      const streamId = this.items[i]!.streamId;
      if (!streamSets.some((set) => set.has(streamId))) return true;
    }
    return false;
  }

  #takeAvoiding(
    maxEvents: number,
    maxChars: number,
    busyStreams: ReadonlySet<string>,
    onlyWhatFits: boolean,
    now: number,
  ): T[] {
    const items = this.items;
    const batch: T[] = [];
    const passedOver: T[] = [];
    let events = 0;
    let chars = 0;
    let abandonedEvents = 0;
    let next = this.head;
    for (; next < items.length; next++) {
      const item = items[next]!;
      if (busyStreams.has(item.streamId)) {
        passedOver.push(item);
        continue;
      }
      const size = item.prepared.events.length;
      if (abandoned(item, now)) {
        abandonedEvents += size;
        continue;
      }
      const weight = item.prepared.chars;
      if ((batch.length > 0 || onlyWhatFits) && (events + size > maxEvents || chars + weight > maxChars)) break;
      events += size;
      chars += weight;
      batch.push(item);
    }
    if (batch.length === 0 && abandonedEvents === 0) return batch;
    this.items = next === items.length ? passedOver : passedOver.concat(items.slice(next));
    this.head = 0;
    this.queuedEvents -= events + abandonedEvents;
    return batch;
  }
}

/** Whether the append's caller has stopped waiting; if so, fails it (it was not written). */
function abandoned(append: QueuedAppend, now: number): boolean {
  if (append.signal?.aborted === true) {
    append.reject(
      new UnavailableError(`the append to '${append.streamId}' was cancelled by its caller before it was written`, {
        streamId: append.streamId,
        delivered: false,
      }),
    );
    return true;
  }
  if (append.deadlineAt !== undefined && now >= append.deadlineAt) {
    append.reject(
      new GaterError('timeout', `the append to '${append.streamId}' was not written: its deadline passed while it waited`, {
        streamId: append.streamId,
      }),
    );
    return true;
  }
  return false;
}
