/**
 * The consumer's side of a subscription: an async iterator that asks its source for one delivery per `next()`. Both
 * transient observations and persistent sessions are this, with different sources.
 */
import { randomUUID } from 'node:crypto';
import { Signal, type Listen } from './async-primitives.ts';
import type { Delivery, EventSubscription } from './types.ts';

/** Why a subscription ended. A consumer may close with a reason of its own. */
export const EndReason = {
  /** Closed by its consumer, or by the hub closing. */
  Closed: 'closed',
  /** A newer session of the same persistent subscription took over. */
  Replaced: 'replaced',
  /** The persistent subscription was removed. */
  Removed: 'removed',
  /** Reading the store failed; the iterator threw the error. */
  Error: 'error',
  /** This node lost the subscription's lease (a store shared by several nodes); reconnecting resumes elsewhere. */
  LeaseLost: 'lease_lost',
} as const;

/**
 * Produces the next delivery, waiting as long as needed; undefined ends the iteration. `onStop` wakes a wait when the
 * subscription ends, so a source can stop waiting.
 */
export type DeliverySource = (onStop: Listen) => Promise<Delivery | undefined>;

export interface DeliveryStreamInit {
  source: DeliverySource;
  /** Called once, when the subscription ends for any reason. */
  onEnd?: (reason: string) => void;
}

export class DeliveryStream implements EventSubscription, AsyncIterator<Delivery> {
  readonly id = randomUUID();
  readonly ended: Promise<string>;
  private readonly source: DeliverySource;
  private readonly onEnd: ((reason: string) => void) | undefined;
  private readonly stopped = new Signal();
  private readonly end = Promise.withResolvers<string>();
  private reason: string | undefined;
  /** Serialises `next()` calls so deliveries reach the consumer in order even if it does not await each one. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(init: DeliveryStreamInit) {
    this.source = init.source;
    this.onEnd = init.onEnd;
    this.ended = this.end.promise;
  }

  get isOpen(): boolean {
    return this.reason === undefined;
  }

  close(reason: string = EndReason.Closed): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.stopped.notify();
    this.end.resolve(reason);
    this.onEnd?.(reason);
  }

  next(): Promise<IteratorResult<Delivery>> {
    const result = this.tail.then(() => this.pull());
    this.tail = result.catch(() => undefined);
    return result;
  }

  async return(): Promise<IteratorResult<Delivery>> {
    this.close(EndReason.Closed);
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return this;
  }

  private readonly onStop: Listen = (wake) => {
    if (this.reason !== undefined) {
      wake();
      return () => {};
    }
    return this.stopped.listen(wake);
  };

  private async pull(): Promise<IteratorResult<Delivery>> {
    if (this.reason !== undefined) return { done: true, value: undefined };
    let delivery: Delivery | undefined;
    try {
      delivery = await this.source(this.onStop);
    } catch (err) {
      this.close(EndReason.Error);
      throw err;
    }
    // A delivery produced as the subscription ends is still handed over: its source has counted it as delivered.
    if (delivery === undefined) {
      this.close(EndReason.Closed);
      return { done: true, value: undefined };
    }
    return { done: false, value: delivery };
  }
}
