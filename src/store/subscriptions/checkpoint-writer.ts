/**
 * Saves one persistent subscription's checkpoint durably, coalescing: every request made in the same tick (and every
 * request made while a save is in flight) is covered by one `saveCheckpoint` of the highest position asked for.
 */
import type { EventStore } from '../event-store.ts';

export interface CheckpointWriterComponents {
  store: Pick<EventStore, 'saveCheckpoint'>;
}

export interface CheckpointWriterInit {
  subscription: string;
  /** The record's creation time: saves are for that subscription only, not one saved again under its name. */
  createdAt?: string;
  /** The checkpoint already durable. */
  checkpoint: number;
}

interface Waiter {
  position: number;
  resolve(checkpoint: number): void;
  reject(err: unknown): void;
}

export class CheckpointWriter {
  private readonly store: Pick<EventStore, 'saveCheckpoint'>;
  private readonly subscription: string;
  private readonly createdAt: string | undefined;
  private saved: number;
  private target: number;
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | undefined;

  constructor(components: CheckpointWriterComponents, init: CheckpointWriterInit) {
    this.store = components.store;
    this.subscription = init.subscription;
    this.createdAt = init.createdAt;
    this.saved = init.checkpoint;
    this.target = init.checkpoint;
  }

  /** The checkpoint known to be durable. */
  get durable(): number {
    return this.saved;
  }

  /** Resolves with the durable checkpoint once it is at least `position`. */
  save(position: number): Promise<number> {
    if (position <= this.saved) return Promise.resolve(this.saved);
    this.target = Math.max(this.target, position);
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    this.waiters.push({ position, resolve, reject });
    this.flushing ??= this.flush();
    return promise;
  }

  /** Resolves when no save is in flight. */
  async settled(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  private async flush(): Promise<void> {
    // One tick's grace, so every ack of this tick lands in the same write.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (this.target > this.saved) {
        const position = this.target;
        try {
          await this.store.saveCheckpoint(this.subscription, position, this.createdAt);
        } catch (err) {
          const failed = this.waiters;
          this.waiters = [];
          for (const w of failed) w.reject(err);
          return;
        }
        this.saved = position;
        const waiting = this.waiters;
        this.waiters = [];
        for (const w of waiting) {
          if (w.position <= this.saved) w.resolve(this.saved);
          else this.waiters.push(w);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }
}
