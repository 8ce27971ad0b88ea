import type { RecordedEvent, SubscriptionOptions, SubscriptionSelector, SubscriptionType } from '../types.ts';

/** One event handed to a subscriber. */
export interface Delivery {
  event: RecordedEvent;
  /** 1 on the first delivery; higher when a persistent subscription delivers the event again. */
  attempt: number;
}

/**
 * A running subscription: an async iterator of deliveries, pulled by the consumer, so a slow consumer slows only
 * itself (nothing is dropped, nothing is buffered without bound). `close()` ends the iteration; it is idempotent.
 */
export interface EventSubscription extends AsyncIterable<Delivery> {
  readonly id: string;
  close(reason?: string): void;
  /** Resolves when the subscription has ended, with the reason (closed by the consumer, replaced, store closed). */
  readonly ended: Promise<string>;
}

/** A transient (live) subscription request. */
export interface ObserveSpec {
  type: SubscriptionType;
  selector: SubscriptionSelector;
  /**
   * Global position to start from (inclusive), to resume after a reconnect; absent: live only, from the store's head
   * at the moment of subscribing (no event committed after that moment is missed).
   */
  startFrom?: number;
  options?: Pick<SubscriptionOptions, 'tagMatch'>;
}
