/**
 * The bookkeeping of a persistent subscription's unacknowledged deliveries, without I/O or timers: which events are
 * out, which are acknowledged or parked, which must go out again, and how far the checkpoint may move.
 *
 * Redelivery is go-back-N: when the oldest outstanding event times out, it and every outstanding event after it are
 * delivered again, in order, so the consumer always sees an ordered sequence (with repeats: at-least-once, in order).
 */
import type { RecordedEvent } from '../types.ts';

export type EntryState =
  /** Delivered, not acknowledged. */
  | 'outstanding'
  | 'acknowledged'
  /** Delivered `maxDeliveries` times without an ack; being recorded as parked. */
  | 'parking'
  /** Recorded as parked: done, as far as the checkpoint is concerned. */
  | 'parked';

export interface WindowEntry {
  readonly event: RecordedEvent;
  /** Replayed from the parked list: below the checkpoint already, so it never moves it. */
  readonly replay: boolean;
  /** Deliveries so far. */
  attempt: number;
  /** Clock time of the latest delivery, in milliseconds. */
  deliveredAt: number;
  state: EntryState;
}

export interface DeliveryWindowInit {
  /** The durable checkpoint the window starts from (-1: nothing acknowledged yet). */
  checkpoint: number;
  /** Deliveries of one event before it is parked instead of delivered again. */
  maxDeliveries: number;
}

export class DeliveryWindow {
  private readonly maxDeliveries: number;
  /** Delivered entries not yet below the checkpoint, in delivery order (fresh events are in position order). */
  private readonly entries: WindowEntry[] = [];
  private readonly byPosition = new Map<number, WindowEntry>();
  /** Entries before this index are out in the current round; from it on they wait to be delivered again. */
  private sendIndex = 0;
  private checkpointPosition: number;

  constructor(init: DeliveryWindowInit) {
    this.checkpointPosition = init.checkpoint;
    this.maxDeliveries = init.maxDeliveries;
  }

  /** Position of the last event of the contiguous done prefix: everything up to it is acknowledged or parked. */
  get checkpoint(): number {
    return this.checkpointPosition;
  }

  /** Entries held: delivered and not yet below the checkpoint. */
  get size(): number {
    return this.entries.length;
  }

  /** Whether entries are waiting to be delivered again (after a timeout or a new session). */
  get redeliveryPending(): boolean {
    for (let i = this.sendIndex; i < this.entries.length; i++) {
      if (this.entries[i]!.state === 'outstanding') return true;
    }
    return false;
  }

  has(position: number): boolean {
    return this.byPosition.has(position);
  }

  /**
   * Records the first delivery of an event (or of a parked event being replayed). Only once nothing waits to be
   * delivered again: go-back-N delivers in order.
   */
  add(event: RecordedEvent, replay: boolean, now: number): WindowEntry {
    if (this.redeliveryPending) throw new Error('DeliveryWindow.add while a redelivery is pending');
    const entry: WindowEntry = { event, replay, attempt: 1, deliveredAt: now, state: 'outstanding' };
    this.entries.push(entry);
    this.byPosition.set(event.position, entry);
    this.sendIndex = this.entries.length;
    return entry;
  }

  /** The next entry to deliver again, with its attempt counted; undefined when none waits. */
  nextRedelivery(now: number): WindowEntry | undefined {
    while (this.sendIndex < this.entries.length) {
      const entry = this.entries[this.sendIndex++]!;
      if (entry.state !== 'outstanding') continue;
      entry.attempt++;
      entry.deliveredAt = now;
      return entry;
    }
    return undefined;
  }

  /** Marks outstanding entries acknowledged; unknown or settled positions are ignored. Returns those newly acknowledged. */
  acknowledge(positions: Iterable<number>): WindowEntry[] {
    const acknowledged: WindowEntry[] = [];
    for (const position of positions) {
      const entry = this.byPosition.get(position);
      if (entry?.state !== 'outstanding') continue;
      entry.state = 'acknowledged';
      acknowledged.push(entry);
    }
    if (acknowledged.length > 0) this.dropDonePrefix();
    return acknowledged;
  }

  /** The oldest entry out in the current round and still unacknowledged: the one whose ack timeout matters. */
  oldestOutstanding(): WindowEntry | undefined {
    for (let i = 0; i < this.sendIndex; i++) {
      if (this.entries[i]!.state === 'outstanding') return this.entries[i];
    }
    return undefined;
  }

  /**
   * Go back to the oldest outstanding entry: it and every outstanding entry after it will be delivered again. Entries
   * already delivered `maxDeliveries` times are not: they move to `parking` and are returned, for the caller to park.
   */
  rewind(): WindowEntry[] {
    const first = this.entries.findIndex((e) => e.state === 'outstanding');
    if (first < 0) return [];
    this.sendIndex = Math.min(this.sendIndex, first);
    const toPark: WindowEntry[] = [];
    for (let i = this.sendIndex; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.state === 'outstanding' && entry.attempt >= this.maxDeliveries) {
        entry.state = 'parking';
        toPark.push(entry);
      }
    }
    return toPark;
  }

  /** The entry is recorded as parked: it counts as done. */
  parked(entry: WindowEntry): void {
    if (entry.state !== 'parking') return;
    entry.state = 'parked';
    this.dropDonePrefix();
  }

  private dropDonePrefix(): void {
    let done = 0;
    for (const entry of this.entries) {
      if (entry.state !== 'acknowledged' && entry.state !== 'parked') break;
      done++;
      this.byPosition.delete(entry.event.position);
      if (!entry.replay) this.checkpointPosition = entry.event.position;
    }
    if (done === 0) return;
    this.entries.splice(0, done);
    this.sendIndex = Math.max(0, this.sendIndex - done);
  }
}
