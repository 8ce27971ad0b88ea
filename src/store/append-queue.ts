/**
 * The queue behind group commit: appends wait here and leave in batches bounded by their event count. An index
 * into the array stands for the queue's head, so taking a batch costs a slice, never a shift of the whole queue;
 * passing streams over costs one pass over what waits.
 */
export interface QueuedAppend {
  streamId: string;
  prepared: { events: readonly unknown[] };
}

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
   * Takes the oldest appends while their events stay within `maxEvents`; always at least one unless `onlyWhatFits`,
   * so an append larger than the bound still goes (alone). Appends to a stream in `busyStreams` (one being written by
   * a batch in flight) are passed over and stay queued in their order, so that two batches in flight never hold the
   * same stream and a stream's appends are written in the order they were made. Empty when every waiting append is
   * passed over.
   */
  takeBatch(maxEvents: number, busyStreams?: ReadonlySet<string>, onlyWhatFits = false): T[] {
    if (busyStreams !== undefined && busyStreams.size > 0) {
      return this.#takeAvoiding(maxEvents, busyStreams, onlyWhatFits);
    }
    const items = this.items;
    let end = this.head;
    let events = 0;
    while (end < items.length) {
      const size = items[end]!.prepared.events.length;
      if ((end > this.head || onlyWhatFits) && events + size > maxEvents) break;
      events += size;
      end++;
    }
    const batch = items.slice(this.head, end);
    if (end === items.length) {
      this.items = [];
      this.head = 0;
    } else {
      this.head = end;
    }
    this.queuedEvents -= events;
    return batch;
  }

  /** Whether some waiting append is to a stream in none of `streamSets`. */
  hasAppendOutside(...streamSets: ReadonlySet<string>[]): boolean {
    for (let i = this.head; i < this.items.length; i++) {
      const streamId = this.items[i]!.streamId;
      if (!streamSets.some((set) => set.has(streamId))) return true;
    }
    return false;
  }

  #takeAvoiding(maxEvents: number, busyStreams: ReadonlySet<string>, onlyWhatFits: boolean): T[] {
    const items = this.items;
    const batch: T[] = [];
    const passedOver: T[] = [];
    let events = 0;
    let next = this.head;
    for (; next < items.length; next++) {
      const item = items[next]!;
      if (busyStreams.has(item.streamId)) {
        passedOver.push(item);
        continue;
      }
      const size = item.prepared.events.length;
      if ((batch.length > 0 || onlyWhatFits) && events + size > maxEvents) break;
      events += size;
      batch.push(item);
    }
    if (batch.length === 0) return batch;
    this.items = next === items.length ? passedOver : passedOver.concat(items.slice(next));
    this.head = 0;
    this.queuedEvents -= events;
    return batch;
  }
}
