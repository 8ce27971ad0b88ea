/**
 * Observers (transient subscriptions) and subscribers (persistent subscriptions the console consumes and acks) run
 * in the background while the menu is in use. Each keeps a count, its last lines for the live view, and a state that
 * follows its stream: `running`, `reconnecting` while the node is away, `stopped`, or `failed` with the error. What
 * is wrong now (`lastError`) is forgotten once it is over; how often something went wrong is counted (`failures`).
 */
import { toGaterError } from '../errors/index.ts';
import type { HttpSubscription, SubscriptionState } from '../client/index.ts';
import type { GaterError } from '../errors/index.ts';
import type { Delivery } from '../store/subscriptions/types.ts';
import type { SubscriptionSelector, SubscriptionType } from '../store/types.ts';
import { receivedLine, seenLine } from './format.ts';

/** Lines a watcher keeps for the live view. */
export const RECENT_LINES = 200;
/** Most positions in one ack request (the node's default window of unacknowledged events is 100). */
export const ACK_BATCH_MAX = 100;

export type WatchStatus = 'running' | 'reconnecting' | 'stopped' | 'failed';
export type WatchKind = 'observer' | 'subscription';

export interface WatcherInit {
  kind: WatchKind;
  name: string;
  type: SubscriptionType;
  selector: SubscriptionSelector;
  /** Opens the subscription; `onState` follows its connection. */
  open: (onState: (state: SubscriptionState, error?: GaterError) => void) => Promise<HttpSubscription>;
}

export class Watcher {
  readonly kind: WatchKind;
  readonly name: string;
  readonly type: SubscriptionType;
  readonly selector: SubscriptionSelector;
  readonly startedAt = new Date();
  count = 0;
  acked = 0;
  /** Times the stream was lost or an ack failed, still shown once the watcher runs again. */
  failures = 0;
  /** Why the stream is down (or failed); cleared when it opens again. */
  private streamError: string | undefined;
  /** Why the last ack failed; cleared by the next ack that succeeds. */
  private ackError: string | undefined;
  private statusValue: WatchStatus = 'running';
  private subscription: HttpSubscription | undefined;
  private readonly recent: string[] = [];
  private readonly listeners = new Set<(line: string) => void>();
  private loop: Promise<void> = Promise.resolve();
  private readonly unacked: number[] = [];
  private acking: Promise<void> | undefined;

  private constructor(init: WatcherInit) {
    this.kind = init.kind;
    this.name = init.name;
    this.type = init.type;
    this.selector = init.selector;
  }

  /** Opens the subscription (rejecting with the node's error) and starts consuming it. */
  static async start(init: WatcherInit): Promise<Watcher> {
    const watcher = new Watcher(init);
    watcher.subscription = await init.open((state, error) => watcher.follow(state, error));
    watcher.loop = watcher.consume(watcher.subscription);
    return watcher;
  }

  get status(): WatchStatus {
    return this.statusValue;
  }

  /** What is wrong now, if anything: the stream's error while it is down or failed, else the last ack's. */
  get lastError(): string | undefined {
    return this.streamError ?? this.ackError;
  }

  /** Last lines, oldest first. */
  lines(last = RECENT_LINES): string[] {
    return this.recent.slice(-last);
  }

  /** Calls `listener` with every new line; returns the function that stops it. */
  onLine(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.statusValue !== 'failed') this.statusValue = 'stopped';
    this.subscription?.close('stopped from the console');
    await this.loop;
    await this.acking;
  }

  private follow(state: SubscriptionState, error?: GaterError): void {
    if (this.statusValue === 'stopped' || this.statusValue === 'failed') return;
    if (state === 'open') {
      // Back: the error that took the stream down is history, counted in `failures`.
      this.statusValue = 'running';
      this.streamError = undefined;
      return;
    }
    if (state === 'reconnecting') {
      // One failure per outage, however many attempts it takes to reconnect.
      if (this.statusValue === 'running') this.failures += 1;
      this.statusValue = 'reconnecting';
    }
    if (error !== undefined) this.streamError = `${error.code}: ${error.message}`;
  }

  private async consume(subscription: HttpSubscription): Promise<void> {
    try {
      for await (const delivery of subscription) {
        this.count += 1;
        this.push(this.kind === 'observer' ? seenLine(delivery) : receivedLine(this.name, delivery));
        if (this.kind === 'subscription') this.ack(subscription, delivery);
      }
      if (this.statusValue !== 'failed') this.statusValue = 'stopped';
    } catch (err) {
      const error = toGaterError(err);
      if (this.statusValue === 'running') this.failures += 1;
      this.statusValue = 'failed';
      this.streamError = `${error.code}: ${error.message}`;
    }
  }

  /**
   * Queues the ack; one ack request is in flight at a time and carries everything queued meanwhile, so a busy
   * subscription is not held to one round trip per event.
   */
  private ack(subscription: HttpSubscription, delivery: Delivery): void {
    this.unacked.push(delivery.event.position);
    this.acking ??= this.flushAcks(subscription).finally(() => (this.acking = undefined));
  }

  private async flushAcks(subscription: HttpSubscription): Promise<void> {
    while (this.unacked.length > 0) {
      const positions = this.unacked.splice(0, ACK_BATCH_MAX);
      try {
        await subscription.ack(positions);
        this.acked += positions.length;
        this.ackError = undefined;
      } catch (err) {
        // Not acked: the node delivers them again after the ack timeout, and the console shows them again.
        this.failures += 1;
        this.ackError = `ack failed: ${toGaterError(err).message}`;
      }
    }
  }

  private push(line: string): void {
    this.recent.push(line);
    if (this.recent.length > RECENT_LINES * 2) this.recent.splice(0, this.recent.length - RECENT_LINES);
    for (const listener of this.listeners) listener(line);
  }
}

/** The watchers of one console, by name (unique across observers and subscriptions). */
export class Watchers {
  private readonly byName = new Map<string, Watcher>();

  async start(init: WatcherInit): Promise<Watcher> {
    const existing = this.byName.get(init.name);
    if (existing !== undefined && (existing.status === 'running' || existing.status === 'reconnecting')) {
      throw new Error(`${init.name} is already running`);
    }
    const watcher = await Watcher.start(init);
    this.byName.set(init.name, watcher);
    return watcher;
  }

  get(name: string): Watcher | undefined {
    return this.byName.get(name);
  }

  list(kind?: WatchKind): Watcher[] {
    return [...this.byName.values()].filter((w) => kind === undefined || w.kind === kind);
  }

  active(kind?: WatchKind): Watcher[] {
    return this.list(kind).filter((w) => w.status === 'running' || w.status === 'reconnecting');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((w) => w.stop()));
  }
}
