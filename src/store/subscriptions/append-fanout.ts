/**
 * The hub's single `onAppend` listener on the store, fanned out to every cursor. It also polls the store's head while
 * anyone listens: `onAppend` is a hint, and a backend shared by several processes may miss one; a head beyond the last
 * notified position is announced as a bare hint (an empty list), and cursors read the store to find out what it was.
 */
import type { Logger } from 'pino';
import type { AppendListener, EventStore } from '../event-store.ts';
import type { RecordedEvent } from '../types.ts';
import type { Clock, Timer } from './clock.ts';
import type { AppendSource } from './event-cursor.ts';

export interface AppendFanoutComponents {
  store: Pick<EventStore, 'onAppend' | 'lastPosition'>;
  clock: Clock;
  logger: Logger;
}

export interface AppendFanoutInit {
  /** Milliseconds between head polls while anyone listens; 0 disables polling. */
  headPollIntervalMs: number;
}

export class AppendFanout implements AppendSource {
  private readonly store: Pick<EventStore, 'onAppend' | 'lastPosition'>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly headPollIntervalMs: number;
  private readonly listeners = new Set<AppendListener>();
  private readonly unsubscribe: () => void;
  /** The highest position announced to listeners. */
  private announced = -1;
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

  /** `hintedPosition`: where a bare hint's commit reached, so that the next poll does not announce it again. */
  private dispatch(events: readonly RecordedEvent[], hintedPosition?: number): void {
    const reached = events.at(-1)?.position ?? hintedPosition;
    if (reached !== undefined) this.announced = Math.max(this.announced, reached);
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
          this.announced = lastPosition;
          this.dispatch([]);
        },
        (err: unknown) => this.logger.debug({ err }, 'head poll failed'),
      ).finally(() => this.schedulePoll());
    });
  }
}
