/**
 * The hub's single `onAppend` listener on the store, fanned out to every cursor. It also polls the store's head while
 * anyone listens: `onAppend` is a hint, and a backend shared by several processes may miss one.
 *
 * A commit this process did not make (another node's, on a shared store, or one found by the head poll) arrives as a
 * bare hint naming how far the store reached. Passed on as it is, every caught-up cursor would read the store for it:
 * a thousand live subscribers, a thousand reads per remote commit. Instead the fanout reads the new events once (the
 * shared tail read, all events from where the last dispatch ended) and passes them on as a local commit's are; each
 * cursor takes them from memory when they start where it stands, and reads the store itself otherwise (see
 * event-cursor.ts), so the shared read is only ever a saving, never what correctness rests on. Should it fail, or
 * fall further behind than TAIL_READ_MAX_PAGES, a bare hint goes out and the cursors read for themselves.
 */
import type { Logger } from 'pino';
import type { AppendListener, EventStore } from '../event-store.ts';
import type { RecordedEvent } from '../types.ts';
import type { Clock, Timer } from './clock.ts';
import { READ_BATCH_EVENTS, TAIL_READ_MAX_PAGES } from './constants.ts';
import type { AppendSource } from './event-cursor.ts';

export interface AppendFanoutComponents {
  store: Pick<EventStore, 'onAppend' | 'lastPosition' | 'readFiltered'>;
  clock: Clock;
  logger: Logger;
}

export interface AppendFanoutInit {
  /** Milliseconds between head polls while anyone listens; 0 disables polling. */
  headPollIntervalMs: number;
}

export class AppendFanout implements AppendSource {
  private readonly store: Pick<EventStore, 'onAppend' | 'lastPosition' | 'readFiltered'>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly headPollIntervalMs: number;
  private readonly listeners = new Set<AppendListener>();
  private readonly unsubscribe: () => void;
  /** The highest position announced to listeners. */
  private announced = -1;
  /**
   * Every listener has been told of every position up to here: given its events (a commit's, or the shared tail
   * read's), or a bare hint reaching that far, or passed over by the tail read (positions left with no event, those
   * of deleted streams). A cursor behind what it was told reads the store itself. -1: nothing yet.
   */
  private toldThrough = -1;
  /** How far the shared tail read must reach: the highest position hinted. */
  private tailTarget = -1;
  private tailReading = false;
  private pollTimer: Timer | undefined;
  private closed = false;

  constructor(components: AppendFanoutComponents, init: AppendFanoutInit) {
    this.store = components.store;
    this.clock = components.clock;
    this.logger = components.logger;
    this.headPollIntervalMs = init.headPollIntervalMs;
    this.unsubscribe = this.store.onAppend((events, hintedPosition) => this.dispatch(events, hintedPosition));
  }

  onAppend(listener: AppendListener): () => void {
    if (this.closed) return () => {};
    this.listeners.add(listener);
    this.schedulePoll();
    return () => {
      this.listeners.delete(listener);
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.listeners.clear();
    this.pollTimer?.cancel();
    this.pollTimer = undefined;
  }

  /**
   * A commit's events, or a bare hint. `hintedPosition`: where a bare hint's commit reached, so that the next poll
   * does not announce it again, and the shared tail read knows how far to read.
   */
  private dispatch(events: readonly RecordedEvent[], hintedPosition?: number): void {
    const last = events.at(-1);
    if (last !== undefined) {
      this.announced = Math.max(this.announced, last.position);
      this.toldThrough = Math.max(this.toldThrough, last.position);
      this.fanOut(events);
      return;
    }
    if (hintedPosition === undefined) {
      this.fanOut(events); // how far is unknown (a notification connection that came back): everyone looks
      return;
    }
    this.announced = Math.max(this.announced, hintedPosition);
    if (hintedPosition <= this.toldThrough || this.listeners.size === 0) return;
    if (this.toldThrough < 0) {
      // Where the cursors stand is unknown until something was told: they read for this one themselves.
      this.toldThrough = hintedPosition;
      this.fanOut(events);
      return;
    }
    this.tailTarget = Math.max(this.tailTarget, hintedPosition);
    void this.readTail();
  }

  /** The shared tail read (see the file's comment): one at a time, following the target as hints raise it. */
  private async readTail(): Promise<void> {
    if (this.tailReading) return;
    this.tailReading = true;
    try {
      for (let pages = 0; !this.closed && this.tailTarget > this.toldThrough; pages++) {
        if (this.listeners.size === 0) return;
        if (pages === TAIL_READ_MAX_PAGES) {
          this.tellBareHint(); // far behind: the cursors read at their own pace
          return;
        }
        const from = this.toldThrough + 1;
        const page = await this.store.readFiltered({}, from, READ_BATCH_EVENTS);
        if (this.closed) return;
        if (page.scannedTo < from) {
          this.tellBareHint(); // not visible to this read (yet): let the cursors look
          return;
        }
        this.toldThrough = Math.max(this.toldThrough, page.scannedTo);
        // Events a commit of this process passed out meanwhile go out again: a cursor past them ignores them.
        if (page.events.length > 0) this.fanOut(page.events);
      }
    } catch (err) {
      this.logger.debug({ err }, 'shared tail read failed; live readers read the store themselves');
      this.tellBareHint();
    } finally {
      this.tailReading = false;
    }
  }

  /** A bare hint reaching the highest position hinted: every cursor that may be behind it reads the store. */
  private tellBareHint(): void {
    this.toldThrough = Math.max(this.toldThrough, this.tailTarget);
    this.fanOut([]);
  }

  private fanOut(events: readonly RecordedEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        this.logger.error({ err }, 'append listener failed');
      }
    }
  }

  private schedulePoll(): void {
    if (this.pollTimer !== undefined || this.closed || this.headPollIntervalMs <= 0) return;
    this.pollTimer = this.clock.schedule(this.headPollIntervalMs, () => {
      this.pollTimer = undefined;
      if (this.closed || this.listeners.size === 0) return;
      this.store.lastPosition().then(
        (lastPosition) => {
          if (this.closed || lastPosition <= this.announced) return;
          this.logger.debug({ lastPosition, announced: this.announced }, 'head moved without a notification');
          this.dispatch([], lastPosition);
        },
        (err: unknown) => this.logger.debug({ err }, 'head poll failed'),
      ).finally(() => this.schedulePoll());
    });
  }
}
