/** A GaterApi whose every call fails unless the test supplies it: for unit tests of the HTTP logic alone. */
import type { GaterApi } from '../../src/gateway/gater-api.ts';
import type { Delivery, EventSubscription } from '../../src/store/subscriptions/types.ts';
import type { RecordedEvent } from '../../src/store/types.ts';

export function stubApi(calls: Partial<GaterApi>): GaterApi {
  return new Proxy(calls as GaterApi, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (value !== undefined || typeof prop !== 'string') return value;
      return () => Promise.reject(new Error(`the stub has no ${prop}`));
    },
  });
}

export function recordedEvent(position: number, data: unknown = null): RecordedEvent {
  return {
    eventId: `00000000-0000-7000-8000-${String(position).padStart(12, '0')}`,
    eventType: 'Stub',
    streamId: 'stub',
    version: position,
    position,
    data,
    metadata: {},
    tags: [],
    timestamp: new Date(0).toISOString(),
    epochUs: 0,
    dataContentType: 'application/json',
    metadataContentType: 'application/json',
  };
}

/**
 * A subscription over `total` generated events that counts how many the consumer has pulled, so a test can see
 * whether the consumer respects backpressure.
 */
export class CountingSubscription implements EventSubscription {
  readonly id = 'counting';
  pulled = 0;
  closedWith: string | undefined;
  readonly ended: Promise<string>;
  private resolveEnded!: (reason: string) => void;
  private readonly total: number;
  private readonly data: unknown;

  constructor(total: number, data: unknown) {
    this.total = total;
    this.data = data;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  close(reason = 'closed'): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    this.resolveEnded(reason);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Delivery> {
    while (this.closedWith === undefined && this.pulled < this.total) {
      const position = this.pulled++;
      yield { event: recordedEvent(position, this.data), attempt: 1 };
      // A real subscription yields to the event loop between reads; so does this one.
      await new Promise((r) => setImmediate(r));
    }
  }
}
