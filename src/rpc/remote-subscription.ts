/**
 * The caller's side of a subscription stream: deliveries arrive from the worker node into a queue bounded by the
 * credit this side grants. Credit is returned as the consumer pulls, so a slow consumer stops its own stream at the
 * worker and nothing else.
 */
import type { GaterError } from '../errors/index.ts';
import type { Delivery, EventSubscription } from '../store/subscriptions/types.ts';

export interface RemoteSubscriptionHooks {
  /** Grants the worker `credit` more deliveries. */
  grant(credit: number): void;
  /** Tells the worker the consumer closed the stream. */
  close(): void;
}

export class RemoteSubscription implements EventSubscription {
  readonly id: string;
  readonly ended: Promise<string>;
  private readonly hooks: RemoteSubscriptionHooks;
  private readonly creditWindow: number;
  private readonly queue: Delivery[] = [];
  private consumedSinceGrant = 0;
  private waiter: (() => void) | undefined;
  private endReason: string | undefined;
  /** Why the worker ended the stream, when it failed: thrown to the consumer after the deliveries before it. */
  private endError: GaterError | undefined;
  private resolveEnded!: (reason: string) => void;

  constructor(id: string, creditWindow: number, hooks: RemoteSubscriptionHooks) {
    this.id = id;
    this.creditWindow = creditWindow;
    this.hooks = hooks;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** A delivery arrived from the worker. */
  push(delivery: Delivery): void {
    if (this.endReason !== undefined) return;
    this.queue.push(delivery);
    this.wake();
  }

  /**
   * The worker (or the connection) ended the stream; queued deliveries are still handed out, then `error` (the
   * worker's, when the stream failed there) is thrown, as a local subscription's iterator would.
   */
  finish(reason: string, error?: GaterError): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    this.endError = error;
    this.resolveEnded(reason);
    this.wake();
  }

  close(reason = 'closed'): void {
    if (this.endReason !== undefined) return;
    this.queue.length = 0;
    this.finish(reason);
    this.hooks.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Delivery> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next !== undefined) {
          this.consumed();
          yield next;
          continue;
        }
        if (this.endReason !== undefined) {
          if (this.endError !== undefined) throw this.endError;
          return;
        }
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
    } finally {
      this.close();
    }
  }

  private consumed(): void {
    this.consumedSinceGrant++;
    // Return credit in halves of the window: few credit messages, and the worker never runs dry while we keep up.
    if (this.consumedSinceGrant >= this.creditWindow / 2 && this.endReason === undefined) {
      this.hooks.grant(this.consumedSinceGrant);
      this.consumedSinceGrant = 0;
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
