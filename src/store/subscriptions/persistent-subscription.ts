/**
 * One saved subscription being delivered in this process: its cursor, its window of unacknowledged deliveries, its
 * ack timer and its checkpoint. Sessions (`connect`) come and go; this state outlives them, so a new session receives
 * the previous one's unacknowledged events (until the hub retires a subscription left without a session). Nothing here
 * survives the process: after a restart the next session resumes from the durable checkpoint, which only ever covers
 * acknowledged or parked events (at-least-once).
 */
import type { Logger } from 'pino';
import type { EventStore } from '../event-store.ts';
import type { RecordedEvent, SubscriptionRecord } from '../types.ts';
import { Mutex, Signal, Wait, type Listen } from './async-primitives.ts';
import { CheckpointWriter } from './checkpoint-writer.ts';
import type { Clock, Timer } from './clock.ts';
import { DeliveryStream, EndReason } from './delivery-stream.ts';
import { DeliveryWindow, type WindowEntry } from './delivery-window.ts';
import { EventCursor, type AppendSource } from './event-cursor.ts';
import { compileMatcher } from './matcher.ts';
import type { Delivery, EventSubscription } from './types.ts';

/** The reason recorded with an event parked after too many deliveries. */
export const PARK_REASON_MAX_DELIVERIES = 'max_deliveries';

export interface PersistentSubscriptionComponents {
  store: EventStore;
  appends: AppendSource;
  clock: Clock;
  logger: Logger;
}

export interface PersistentSubscriptionInit {
  record: SubscriptionRecord;
  /** Events per store read. */
  batchEvents: number;
  /**
   * Called when the store answers that this subscription is gone (removed, perhaps saved again, through another node
   * sharing the store): its delivery here must end.
   */
  onGone?: () => void;
  /** Called when its session ends with no new one taking its place (the owner may retire it after a while). */
  onIdle?: () => void;
}

/** Why a pull found nothing to deliver. */
type Idle = 'full' | 'caught_up' | 'ended';

export class PersistentSubscription {
  readonly record: SubscriptionRecord;
  private readonly store: EventStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly cursor: EventCursor;
  private readonly window: DeliveryWindow;
  private readonly checkpoints: CheckpointWriter;
  /**
   * Positions of parked events to deliver again before the cursor continues, in order. Each event is read when its
   * turn comes, so that replaying thousands of large parked events holds one of them at a time, not all.
   */
  private readonly replayQueue: number[] = [];
  /** Positions queued for replay or out as replays: a second `replayParked` must not queue them twice. */
  private readonly replaying = new Set<number>();
  /** An event taken from the cursor that could not be delivered yet (its session ended, or redeliveries came first). */
  private stash: RecordedEvent | undefined;
  private session: DeliveryStream | undefined;
  /** Deliveries are taken one at a time: the cursor is not reentrant and the window's order is the delivery order. */
  private readonly takeLock = new Mutex();
  /** Wakes pulls when the window changes: acks, timeouts, parks, replays, a new session. */
  private readonly changed = new Signal();
  private timer: Timer | undefined;
  private closed = false;
  private readonly onGone: () => void;
  private readonly onIdle: () => void;

  constructor(components: PersistentSubscriptionComponents, init: PersistentSubscriptionInit) {
    const record = init.record;
    this.record = record;
    this.onGone = init.onGone ?? (() => {});
    this.onIdle = init.onIdle ?? (() => {});
    this.store = components.store;
    this.clock = components.clock;
    this.logger = components.logger.child({ subscription: record.name });
    const oneStream = record.type === 'by_stream' && record.selector !== '$all';
    // `startFrom` is a stream version for one stream (a filter), a global position otherwise (where to begin).
    const matcher = compileMatcher(record.type, record.selector, {
      startFrom: oneStream ? record.startFrom : 0,
      tagMatch: record.options.tagMatch,
    });
    const firstPosition = oneStream ? 0 : record.startFrom;
    this.cursor = new EventCursor(
      { store: components.store, appends: components.appends },
      { matcher, fromPosition: Math.max(record.checkpoint + 1, firstPosition), batchEvents: init.batchEvents },
    );
    this.window = new DeliveryWindow({ checkpoint: record.checkpoint, maxDeliveries: record.options.maxDeliveries });
    this.checkpoints = new CheckpointWriter(
      { store: components.store },
      { subscription: record.name, checkpoint: record.checkpoint, createdAt: record.createdAt },
    );
  }

  get name(): string {
    return this.record.name;
  }

  get hasSession(): boolean {
    return this.session !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Whether closing it now loses nothing that loading it again from the store would not bring back: no delivery is
   * unacknowledged (with its delivery count), no replay is queued, and the checkpoint is durable.
   */
  get atRest(): boolean {
    return (
      this.window.size === 0 &&
      this.replayQueue.length === 0 &&
      this.replaying.size === 0 &&
      this.checkpoints.durable === this.window.checkpoint
    );
  }

  /** Opens a session, ending the current one (`replaced`); unacknowledged events go out again to the new one. */
  connect(): EventSubscription {
    if (this.closed) throw new Error(`subscription ${this.name} is closed`);
    const session: DeliveryStream = new DeliveryStream({
      source: (onStop) => this.pull(session, onStop),
      onEnd: () => this.detach(session),
    });
    const previous = this.session;
    this.session = session;
    previous?.close(EndReason.Replaced);
    this.park(this.window.rewind());
    this.changed.notify();
    return session;
  }

  /**
   * Acknowledges delivered events by position (idempotent; unknown positions are ignored) and resolves with the durable
   * checkpoint once it covers every acknowledged-in-order event.
   */
  async ack(positions: readonly number[]): Promise<number> {
    const acknowledged = this.window.acknowledge(positions);
    if (acknowledged.length > 0) this.changed.notify();
    const replayed = acknowledged.filter((e) => e.replay).map((e) => e.event.position);
    for (const position of replayed) this.replaying.delete(position);
    // A replayed event stays parked until it is acknowledged, so a crash during the replay loses nothing.
    try {
      const [checkpoint] = await Promise.all([
        this.checkpoints.save(this.window.checkpoint),
        replayed.length > 0 ? this.store.unparkEvents(this.name, replayed) : undefined,
      ]);
      return checkpoint;
    } catch (err) {
      if (isNotFound(err)) this.onGone();
      throw err;
    }
  }

  /**
   * Queues parked events (all, or those at `positions`) to be delivered again before the cursor continues; returns how
   * many were queued. They stay parked until acknowledged. A parked event still inside the window (an earlier event is
   * unacknowledged) can be replayed once the checkpoint has passed it.
   */
  async replayParked(positions?: readonly number[]): Promise<number> {
    const wanted = positions === undefined ? undefined : new Set(positions);
    const listed = (await this.store.listParked(this.name)).filter((p) => wanted === undefined || wanted.has(p.position));
    // A park is recorded before the checkpoint passes it, so a crash (or a lost lease) in between leaves one ahead of
    // the checkpoint and outside the window: the cursor will deliver that event afresh. Queued as a replay too, it
    // would go out twice and hold the checkpoint back; it is unparked instead.
    const ahead = listed.filter((p) => p.position > this.window.checkpoint && !this.window.has(p.position));
    if (ahead.length > 0) {
      this.logger.info({ positions: ahead.map((p) => p.position) }, 'parked events ahead of the checkpoint will be delivered afresh; unparking them');
      await this.store.unparkEvents(this.name, ahead.map((p) => p.position));
    }
    const parked = listed.filter((p) => p.position <= this.window.checkpoint && this.replayable(p.position));
    for (const { position } of parked) {
      this.replaying.add(position);
      this.replayQueue.push(position);
    }
    this.replayQueue.sort((a, b) => a - b);
    if (parked.length > 0) this.changed.notify();
    return parked.length;
  }

  /**
   * The next parked event to replay, read from the store, or undefined when none is queued. One whose stream was
   * deleted meanwhile can never be delivered again: it is unparked and passed over.
   */
  private async nextReplay(): Promise<RecordedEvent | undefined> {
    while (this.replayQueue.length > 0) {
      const position = this.replayQueue.shift()!;
      let event: RecordedEvent | undefined;
      try {
        [event] = await this.store.readPositions([position]);
      } catch (err) {
        this.requeueReplay(position); // the store failed, not the event: its turn comes again
        throw err;
      }
      if (event !== undefined) return event;
      this.replaying.delete(position);
      this.logger.warn({ position }, 'parked event no longer exists; unparking it');
      this.store.unparkEvents(this.name, [position]).catch((err: unknown) => {
        if (isNotFound(err)) this.onGone();
        else this.logger.error({ err, position }, 'unparking a parked event that no longer exists failed');
      });
    }
    return undefined;
  }

  /** Queues a replay again that was read but could not be delivered yet. */
  private requeueReplay(position: number): void {
    this.replayQueue.push(position);
    this.replayQueue.sort((a, b) => a - b);
  }

  /** Ends the session with `reason`, stops timers and waits for checkpoint saves in flight. */
  async close(reason: string = EndReason.Closed): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.session?.close(reason);
      this.cancelTimer();
      this.cursor.close();
      this.changed.notify();
    }
    await this.checkpoints.settled();
  }

  private replayable(position: number): boolean {
    return !this.replaying.has(position) && !this.window.has(position);
  }

  private detach(session: DeliveryStream): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.cancelTimer();
    this.changed.notify();
    if (!this.closed) this.onIdle();
  }

  private async pull(session: DeliveryStream, onStop: Listen): Promise<Delivery | undefined> {
    for (;;) {
      if (this.session !== session) return undefined;
      // Listening before looking, so a change made while looking still wakes the wait below.
      const wait = new Wait().on(this.changed.listen);
      let taken: Delivery | Idle;
      try {
        taken = await this.takeLock.run(() => this.take(session));
      } catch (err) {
        wait.cancel();
        throw err;
      }
      if (typeof taken === 'object' || taken === 'ended') {
        wait.cancel();
        return typeof taken === 'object' ? taken : undefined;
      }
      wait.on(onStop);
      if (taken === 'caught_up') wait.on(this.cursor.listenForAppend);
      await wait.promise;
    }
  }

  /** The next delivery for `session`: a redelivery first, then a replay, then the cursor's next event. */
  private async take(session: DeliveryStream): Promise<Delivery | Idle> {
    for (;;) {
      if (this.session !== session || this.closed) return 'ended';
      const again = this.window.nextRedelivery(this.clock.now());
      if (again !== undefined) return this.delivered(again);
      if (this.window.size >= this.record.options.maxInFlight) return 'full';
      const replay = await this.nextReplay();
      if (replay !== undefined) {
        if (this.session !== session || this.closed || this.window.redeliveryPending) {
          this.requeueReplay(replay.position); // things changed while reading: look again
          continue;
        }
        return this.delivered(this.window.add(replay, true, this.clock.now()));
      }
      let event = this.stash;
      this.stash = undefined;
      event ??= await this.cursor.tryNext();
      if (event === undefined) return 'caught_up';
      if (this.session !== session || this.window.redeliveryPending || this.replayQueue.length > 0) {
        this.stash = event; // things changed while reading: keep it for the next round
        continue;
      }
      return this.delivered(this.window.add(event, false, this.clock.now()));
    }
  }

  private delivered(entry: WindowEntry): Delivery {
    this.armTimer();
    return { event: entry.event, attempt: entry.attempt };
  }

  private armTimer(): void {
    if (this.timer !== undefined || this.session === undefined) return;
    const oldest = this.window.oldestOutstanding();
    if (oldest === undefined) return;
    const due = oldest.deliveredAt + this.record.options.ackTimeoutMs;
    this.timer = this.clock.schedule(due - this.clock.now(), this.onTimer);
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.session === undefined || this.closed) return;
    const oldest = this.window.oldestOutstanding();
    if (oldest === undefined) return;
    if (this.clock.now() >= oldest.deliveredAt + this.record.options.ackTimeoutMs) {
      this.logger.debug({ position: oldest.event.position, attempt: oldest.attempt }, 'ack timeout; redelivering');
      this.park(this.window.rewind());
      this.changed.notify();
    }
    this.armTimer();
  };

  private park(entries: readonly WindowEntry[]): void {
    let replaysParked = false;
    for (const entry of entries) {
      if (entry.replay) {
        // Still parked in the store (replays are unparked on ack): just stop delivering it.
        this.replaying.delete(entry.event.position);
        this.window.parked(entry);
        replaysParked = true;
      } else {
        this.recordParked(entry);
      }
    }
    // A replay held back the checkpoint; events acknowledged behind it are now covered.
    if (replaysParked) this.saveCheckpointAfterPark();
    if (entries.length > 0) this.changed.notify();
  }

  /** A park may let the checkpoint pass events acknowledged behind the parked one: saves it. */
  private saveCheckpointAfterPark(): void {
    this.checkpoints.save(this.window.checkpoint).catch((err: unknown) => {
      if (isNotFound(err)) this.onGone();
      else this.logger.error({ err }, 'saving the checkpoint after a park failed');
    });
  }

  /** Records a park durably; until then the event is not done. A failed write is retried after the ack timeout. */
  private recordParked(entry: WindowEntry): void {
    const { event } = entry;
    this.store
      .parkEvent(
        {
          subscription: this.name,
          position: event.position,
          eventId: event.eventId,
          streamId: event.streamId,
          deliveries: entry.attempt,
          reason: PARK_REASON_MAX_DELIVERIES,
        },
        this.record.createdAt,
      )
      .then(
        () => {
          this.logger.info({ position: event.position, deliveries: entry.attempt }, 'event parked');
          this.window.parked(entry);
          this.changed.notify();
          this.saveCheckpointAfterPark();
        },
        (err: unknown) => {
          if (this.closed) return;
          if (isNotFound(err)) {
            this.onGone();
            return;
          }
          this.logger.error({ err, position: event.position }, 'parking an event failed; retrying');
          this.clock.schedule(this.record.options.ackTimeoutMs, () => {
            if (!this.closed) this.recordParked(entry);
          });
        },
      );
  }
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'not_found';
}
