/**
 * A tiny in-memory event log with the read and notification half of the EventStore interface, for unit tests of the
 * cursor's logic only: tests can run code in the middle of a read (before or after its snapshot is taken) and choose
 * when notifications are delivered. What proves the engine is the SQLite store; this only reaches interleavings
 * on demand.
 */
import type { AppendListener, EventStore } from '../../../../src/store/event-store.ts';
import type { EventFilter, FilteredRead, RecordedEvent } from '../../../../src/store/types.ts';
import { filterAccepts, recordedEvent } from './events.ts';

export interface ProposedEvent {
  streamId?: string;
  eventType?: string;
  data?: unknown;
  tags?: string[];
}

export class MemoryLog implements Pick<EventStore, 'readFiltered' | 'onAppend' | 'stats' | 'lastPosition'> {
  readonly events: RecordedEvent[] = [];
  private readonly listeners = new Set<AppendListener>();
  private readonly versions = new Map<string, number>();
  reads = 0;
  /** Runs inside every read, before the snapshot of the log is taken. */
  beforeSnapshot: (() => void | Promise<void>) | undefined;
  /** Runs inside every read, after the snapshot is taken and before the result is returned. */
  afterSnapshot: (() => void | Promise<void>) | undefined;

  /** Commits events; listeners hear of them through `notify` (default: at once). */
  commit(proposed: readonly ProposedEvent[], notify: (deliver: () => void) => void = (d) => d()): RecordedEvent[] {
    const committed = proposed.map((p) => {
      const streamId = p.streamId ?? 'stream-1';
      const version = (this.versions.get(streamId) ?? -1) + 1;
      this.versions.set(streamId, version);
      const event = recordedEvent({ position: this.events.length, streamId, version, ...withoutStream(p) });
      this.events.push(event);
      return event;
    });
    notify(() => {
      for (const listener of this.listeners) listener(committed);
    });
    return committed;
  }

  /** Sends a bare hint (an empty notification), naming where the commit it stands for reached when given. */
  hint(position?: number): void {
    for (const listener of this.listeners) listener([], position);
  }

  async readFiltered(filter: EventFilter, fromPosition: number, limit: number): Promise<FilteredRead> {
    this.reads++;
    await this.beforeSnapshot?.();
    const head = this.events.length - 1;
    const events: RecordedEvent[] = [];
    for (let p = Math.max(0, fromPosition); p <= head && events.length < limit; p++) {
      if (filterAccepts(filter, this.events[p]!)) events.push(this.events[p]!);
    }
    const scannedTo = events.length === limit ? events.at(-1)!.position : head;
    await this.afterSnapshot?.();
    return { events, scannedTo };
  }

  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stats() {
    return { hasEvents: this.events.length > 0, lastPosition: this.events.length - 1, streamCount: this.versions.size };
  }

  async lastPosition(): Promise<number> {
    return this.events.length - 1;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

function withoutStream(p: ProposedEvent): Omit<ProposedEvent, 'streamId'> {
  const { streamId: _ignored, ...rest } = p;
  return rest;
}
