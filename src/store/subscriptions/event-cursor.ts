/**
 * A cursor over the events matching one subscription, from a global position onwards, across history and live.
 *
 * How it reads. The cursor owns one number, `next`: every position below it has been scanned. It reads the store with
 * `readFiltered(filter, next, batch)` and continues from `scannedTo + 1`, which never skips and never repeats an event
 * (the store's guarantee). When a read comes back short the cursor is caught up and waits for an append notification.
 *
 * How live events arrive. Notifications are never pushed around the cursor into a queue. The cursor keeps only the
 * latest notification it has heard, and uses it only if its events start exactly at `next`: positions are gap-free in
 * commit order and a notification carries every event of its commit, so those events are exactly what a store read
 * from `next` would return. Any other notification (older, or leaving a gap because the consumer was slow and missed
 * one) is just a wake-up: the cursor reads the store. Hence replay-then-live has no gap and no duplicate at the seam,
 * whatever the interleaving of commits, notifications and reads.
 *
 * Pull-based. The store is read only when the consumer asks for the next event. A slow consumer slows only itself,
 * and a cursor holds at most one read batch plus a reference to one notification, however far behind it is.
 */
import type { AppendListener, EventStore } from '../event-store.ts';
import type { RecordedEvent } from '../types.ts';
import { READ_BATCH_EVENTS } from './constants.ts';
import { Signal, type Listen } from './async-primitives.ts';
import type { EventMatcher } from './matcher.ts';

/** Where commits are heard of: the store itself, or the hub's fan-out of the store's single listener. */
export interface AppendSource {
  /** An empty list is a bare hint: something may have been committed, read the store to find out. */
  onAppend(listener: AppendListener): () => void;
}

export interface EventCursorComponents {
  store: Pick<EventStore, 'readFiltered'>;
  appends: AppendSource;
}

export interface EventCursorInit {
  matcher: EventMatcher;
  /** First global position to scan (inclusive). */
  fromPosition: number;
  /** Events per store read, and so the most the cursor buffers. @default READ_BATCH_EVENTS (500) */
  batchEvents?: number;
}

export class EventCursor {
  private readonly store: Pick<EventStore, 'readFiltered'>;
  private readonly matcher: EventMatcher;
  private readonly batchEvents: number;
  private readonly unsubscribe: () => void;

  /** Every position below this has been scanned. */
  private next: number;
  /** Matching events scanned but not yet handed out, in position order. */
  private buffer: RecordedEvent[] = [];
  private bufferIndex = 0;
  /** The last store read came back short: nothing more was committed at that moment. */
  private caughtUp = false;
  /** The latest notification heard and not yet examined. */
  private notified: readonly RecordedEvent[] | undefined;
  /** The highest position any notification carried. */
  private notifiedHead = -1;
  /** Bare hints heard, and how many of them a completed read has answered. */
  private hints = 0;
  private hintsAnswered = 0;
  private readonly appended = new Signal();
  private reading = false;
  private closed = false;

  constructor(components: EventCursorComponents, init: EventCursorInit) {
    this.store = components.store;
    this.matcher = init.matcher;
    this.batchEvents = init.batchEvents ?? READ_BATCH_EVENTS;
    this.next = init.fromPosition;
    this.unsubscribe = components.appends.onAppend(this.onAppend);
  }

  /** The position of the next event the cursor would consider: resuming from here misses nothing. */
  get position(): number {
    return this.buffer[this.bufferIndex]?.position ?? this.next;
  }

  /**
   * The next matching event, reading the store as needed; undefined when caught up (or closed). Not reentrant: one
   * caller at a time.
   */
  async tryNext(): Promise<RecordedEvent | undefined> {
    if (this.reading) throw new Error('EventCursor.tryNext called while a read is in progress');
    for (;;) {
      if (this.closed) return undefined;
      if (this.bufferIndex < this.buffer.length) {
        const event = this.buffer[this.bufferIndex]!;
        this.bufferIndex++;
        return event;
      }
      if (this.takeNotified()) continue;
      if (this.caughtUp && !this.mayHaveMore()) return undefined;
      await this.readPage();
    }
  }

  /** Wakes `wake` when `tryNext` may have something new: at once if it may already, else at the next notification. */
  readonly listenForAppend: Listen = (wake) => {
    if (this.closed || this.bufferIndex < this.buffer.length || !this.caughtUp || this.mayHaveMore()) {
      wake();
      return () => {};
    }
    return this.appended.listen(wake);
  };

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.buffer = [];
    this.notified = undefined;
    this.wake();
  }

  private readonly onAppend: AppendListener = (events) => {
    if (this.closed) return;
    const last = events.at(-1);
    if (last === undefined) {
      this.hints++;
    } else {
      if (last.position < this.next) return; // scanned already
      this.notified = events;
      this.notifiedHead = Math.max(this.notifiedHead, last.position);
    }
    this.wake();
  };

  private mayHaveMore(): boolean {
    return this.notifiedHead >= this.next || this.hints !== this.hintsAnswered;
  }

  /** Consumes the latest notification from memory when it starts exactly where the cursor stands. */
  private takeNotified(): boolean {
    const batch = this.notified;
    if (batch === undefined) return false;
    this.notified = undefined;
    let i = 0;
    while (i < batch.length && batch[i]!.position < this.next) i++;
    if (batch[i]?.position !== this.next) return false; // seen already, or a gap: the store has the rest
    const matched: RecordedEvent[] = [];
    for (; i < batch.length && batch[i]!.position === this.next; i++, this.next++) {
      if (this.matcher.matches(batch[i]!)) matched.push(batch[i]!);
    }
    this.buffer = matched;
    this.bufferIndex = 0;
    // Every notification heard so far is consumed: a later commit will notify again.
    if (this.notifiedHead < this.next) this.caughtUp = true;
    return true;
  }

  private async readPage(): Promise<void> {
    const from = this.next;
    const hints = this.hints;
    this.reading = true;
    let page;
    try {
      page = await this.store.readFiltered(this.matcher.filter, from, this.batchEvents);
    } finally {
      this.reading = false;
    }
    if (this.closed) return;
    this.buffer = page.events.filter((e) => e.position >= from && this.matcher.matches(e));
    this.bufferIndex = 0;
    this.next = Math.max(from, page.scannedTo + 1);
    // A short page reached the head, unless the store cut it short by bytes (a page of large events): then it
    // reports its last event as scanned. A short page whose last event is the head looks alike and costs one more,
    // empty, read.
    const last = page.events.at(-1);
    this.caughtUp = page.events.length < this.batchEvents && (last === undefined || page.scannedTo > last.position);
    if (this.caughtUp) this.hintsAnswered = hints;
  }

  private wake(): void {
    this.appended.notify();
  }
}
