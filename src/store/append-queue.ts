/**
 * The queue behind group commit: appends wait here and leave in batches bounded by their event count. An index
 * into the array stands for the queue's head, so taking a batch costs a slice, never a shift of the whole queue.
 */
export interface QueuedAppend {
  prepared: { events: readonly unknown[] };
}

export class AppendQueue<T extends QueuedAppend> {
  private items: T[] = [];
  private head = 0;

  /** Appends waiting, not yet taken. */
  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /**
   * Takes the oldest appends while their events stay within `maxEvents`; always at least one, so an append larger
   * than the bound still goes (alone).
   */
  takeBatch(maxEvents: number): T[] {
    const items = this.items;
    let end = this.head;
    let events = 0;
    while (end < items.length) {
      const size = items[end]!.prepared.events.length;
      if (end > this.head && events + size > maxEvents) break;
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
    return batch;
  }
}
