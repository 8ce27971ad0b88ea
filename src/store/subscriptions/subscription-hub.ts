/**
 * Live and persistent subscriptions over one EventStore, the same for every backend: it uses only the EventStore
 * interface (filtered reads, the append hint, subscription records, checkpoints and parked events). One hub per store.
 */
import pino, { type Logger } from 'pino';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../../errors/index.ts';
import type { CallOptions, EventStore, SubscriptionLease } from '../event-store.ts';
import type {
  ParkedEvent,
  SubscriptionRecord,
  SubscriptionSelector,
  SubscriptionType,
} from '../types.ts';
import { AppendFanout } from './append-fanout.ts';
import { Wait } from './async-primitives.ts';
import { systemClock, type Clock, type Timer } from './clock.ts';
import {
  HEAD_POLL_INTERVAL_MS,
  IDLE_LEASE_RELEASE_MS,
  READ_BATCH_EVENTS,
  RECORD_CHECK_INTERVAL_MS,
} from './constants.ts';
import { DeliveryStream, EndReason } from './delivery-stream.ts';
import { EventCursor } from './event-cursor.ts';
import { compileMatcher } from './matcher.ts';
import { PersistentSubscription } from './persistent-subscription.ts';
import type { EventSubscription, ObserveSpec } from './types.ts';

export interface SubscriptionHubComponents {
  store: EventStore;
  logger?: Logger;
  /** Time for ack timeouts and head polls. @default the system clock */
  clock?: Clock;
}

export interface SubscriptionHubInit {
  /** Events per store read: the most one subscription buffers. @default READ_BATCH_EVENTS (500) */
  readBatchEvents?: number;
  /**
   * Milliseconds between checks of the store's head while anyone is subscribed, in case an append notification was
   * lost; 0 disables. @default HEAD_POLL_INTERVAL_MS (1,000)
   */
  headPollIntervalMs?: number;
  /**
   * Milliseconds between read-backs of the records of subscriptions delivered under a lease (a store shared by
   * several nodes), to end those removed through another node. @default RECORD_CHECK_INTERVAL_MS (5,000)
   */
  recordCheckIntervalMs?: number;
  /**
   * Milliseconds a persistent subscription stays loaded here without a session before it is retired: closed after
   * its last checkpoint save, its lease released, so that another node can deliver it at once (from the durable
   * checkpoint: unacknowledged events are delivered again). A session arriving sooner takes it over as it is; one
   * arriving later loads it again (taking the lease again). On a store without leases only a subscription with nothing
   * unacknowledged or queued is retired, which frees memory and changes nothing else. @default IDLE_LEASE_RELEASE_MS
   * (5,000)
   */
  idleLeaseReleaseMs?: number;
}

export class SubscriptionHub {
  private readonly store: EventStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly readBatchEvents: number;
  private readonly appends: AppendFanout;
  private readonly observations = new Set<DeliveryStream>();
  private readonly persistent = new Map<string, PersistentSubscription>();
  /** The leases held for persistent subscriptions, when the store is shared by several nodes. */
  private readonly leases = new Map<PersistentSubscription, SubscriptionLease>();
  private readonly recordCheckIntervalMs: number;
  private recordCheck: Timer | undefined;
  private readonly idleLeaseReleaseMs: number;
  /** When loaded subscriptions without a session are to be retired. */
  private readonly idleRetirements = new Map<PersistentSubscription, Timer>();
  /**
   * Retirements in flight, by name: loading that name again waits for them, so that it reads the last checkpoint
   * saved and takes a lease that was given up.
   */
  private readonly retirements = new Map<string, Promise<void>>();
  private closed = false;

  constructor(components: SubscriptionHubComponents, init: SubscriptionHubInit = {}) {
    this.store = components.store;
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.clock = components.clock ?? systemClock;
    this.readBatchEvents = init.readBatchEvents ?? READ_BATCH_EVENTS;
    if (!Number.isSafeInteger(this.readBatchEvents) || this.readBatchEvents < 1) {
      throw new InvalidArgumentError('readBatchEvents', 'must be a positive integer');
    }
    this.recordCheckIntervalMs = init.recordCheckIntervalMs ?? RECORD_CHECK_INTERVAL_MS;
    this.idleLeaseReleaseMs = init.idleLeaseReleaseMs ?? IDLE_LEASE_RELEASE_MS;
    if (!Number.isFinite(this.idleLeaseReleaseMs) || this.idleLeaseReleaseMs < 0) {
      throw new InvalidArgumentError('idleLeaseReleaseMs', 'must be a non-negative number of milliseconds');
    }
    const headPollIntervalMs = init.headPollIntervalMs ?? HEAD_POLL_INTERVAL_MS;
    if (!Number.isFinite(headPollIntervalMs) || headPollIntervalMs < 0) {
      throw new InvalidArgumentError('headPollIntervalMs', 'must be a non-negative number of milliseconds');
    }
    this.appends = new AppendFanout(
      { store: this.store, clock: this.clock, logger: this.logger },
      { headPollIntervalMs },
    );
  }

  /**
   * A transient subscription: events matching `spec` from `spec.startFrom` (a global position) or, when absent, from
   * the store's head as this call runs — every event committed after it resolves is delivered. Nothing is stored.
   */
  async observe(spec: ObserveSpec): Promise<EventSubscription> {
    this.ensureOpen();
    const matcher = compileMatcher(spec.type, spec.selector, { tagMatch: spec.options?.tagMatch });
    let fromPosition: number;
    if (spec.startFrom === undefined) {
      fromPosition = (await this.store.stats()).lastPosition + 1;
      this.ensureOpen();
    } else {
      if (!Number.isSafeInteger(spec.startFrom) || spec.startFrom < 0) {
        throw new InvalidArgumentError('startFrom', 'must be a non-negative integer (a global position)');
      }
      fromPosition = spec.startFrom;
    }
    const cursor = new EventCursor(
      { store: this.store, appends: this.appends },
      { matcher, fromPosition, batchEvents: this.readBatchEvents },
    );
    const observation: DeliveryStream = new DeliveryStream({
      source: async (onStop) => {
        for (;;) {
          const event = await cursor.tryNext();
          if (event !== undefined) return { event, attempt: 1 };
          if (!observation.isOpen) return undefined;
          await new Wait().on(cursor.listenForAppend).on(onStop).promise;
        }
      },
      onEnd: (reason) => {
        cursor.close();
        this.observations.delete(observation);
        this.logger.debug({ id: observation.id, reason }, 'observation ended');
      },
    });
    this.observations.add(observation);
    this.logger.debug({ id: observation.id, type: spec.type, fromPosition }, 'observation started');
    return observation;
  }

  /**
   * Opens the delivery session of a saved subscription, ending the current session if any (`replaced`). Delivery
   * resumes after the durable checkpoint; events the previous session left unacknowledged are delivered again first.
   */
  async connect(name: string): Promise<EventSubscription> {
    this.ensureOpen();
    for (;;) {
      const subscription = await this.load(name);
      // Retired between loading and resuming here (idle past its time, or its lease lost): load it again.
      if (subscription.isClosed) continue;
      this.cancelIdleRetirement(subscription);
      const session = subscription.connect();
      this.logger.debug({ subscription: name, id: session.id }, 'session connected');
      return session;
    }
  }

  /**
   * Acknowledges delivered events of a persistent subscription by position (idempotent; positions not delivered are
   * ignored). Resolves with the durable checkpoint after it is saved.
   */
  async ack(name: string, positions: readonly number[]): Promise<number> {
    this.ensureOpen();
    if (!Array.isArray(positions)) throw new InvalidArgumentError('positions', 'must be a list of positions');
    positions.forEach((p, i) => {
      if (!Number.isSafeInteger(p) || p < 0) {
        throw new InvalidArgumentError(`positions[${i}]`, 'must be a non-negative integer');
      }
    });
    const subscription = this.persistent.get(name);
    if (subscription !== undefined) return subscription.ack(positions);
    // Nothing was delivered in this process: no position can be known. Unless another node delivers it: the acks
    // belong there.
    const lease = await this.acquireLease(name);
    await lease?.release();
    return (await this.getSubscription(name)).checkpoint;
  }

  async listParked(name: string, call?: CallOptions): Promise<ParkedEvent[]> {
    await this.getSubscription(name, call);
    return this.store.listParked(name, call);
  }

  /**
   * Delivers parked events (all, or those at `positions`) again before the subscription continues; resolves with how
   * many were queued. They stay listed as parked until acknowledged.
   */
  async replayParked(name: string, positions?: readonly number[]): Promise<number> {
    this.ensureOpen();
    if (positions !== undefined && !Array.isArray(positions)) {
      throw new InvalidArgumentError('positions', 'must be a list of positions');
    }
    return (await this.load(name)).replayParked(positions);
  }

  /** The stored record (with the durable checkpoint). Throws `not_found`. */
  async getSubscription(name: string, call?: CallOptions): Promise<SubscriptionRecord> {
    const record = await this.store.getSubscription(name, call);
    if (record === undefined) throw new NotFoundError(`subscription '${name}'`, { subscription: name });
    return record;
  }

  /** Removes a saved subscription; its session, if any, ends with `removed`. */
  async removeSubscription(
    type: SubscriptionType,
    selector: SubscriptionSelector,
    name: string,
    call?: CallOptions,
  ): Promise<void> {
    await this.store.removeSubscription(type, selector, name, call);
    const subscription = this.persistent.get(name);
    if (subscription !== undefined) {
      this.persistent.delete(name);
      await this.retire(subscription, EndReason.Removed);
    }
  }

  /** Ends every subscription (`closed`) and waits for checkpoint saves in flight. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.recordCheck?.cancel();
    this.recordCheck = undefined;
    for (const timer of this.idleRetirements.values()) timer.cancel();
    this.idleRetirements.clear();
    for (const observation of this.observations) observation.close(EndReason.Closed);
    const persistent = [...this.persistent.values()];
    this.persistent.clear();
    this.appends.close();
    await Promise.all(persistent.map((s) => this.retire(s, EndReason.Closed)));
  }

  /** The in-process state of a saved subscription, rebuilt when the stored definition changed underneath. */
  private async load(name: string): Promise<PersistentSubscription> {
    for (;;) {
      // A retirement of this name in flight saves the last checkpoint, then gives the lease up: load after it.
      const retiring = this.retirements.get(name);
      if (retiring !== undefined) {
        await retiring;
        continue;
      }
      const record = await this.getSubscription(name);
      this.ensureOpen();
      // Retired while the record was read: that record may miss the last checkpoint save.
      if (this.retirements.has(name)) continue;
      const current = this.persistent.get(name);
      if (current !== undefined && sameDefinition(current.record, record)) return current;
      const lease = await this.acquireLease(name);
      // Things may have changed while the lease was asked for.
      const raced = this.persistent.get(name);
      if (this.closed || (raced !== undefined && sameDefinition(raced.record, record))) {
        await lease?.release();
        this.ensureOpen();
        return raced!;
      }
      if (this.retirements.has(name)) {
        await lease?.release();
        continue;
      }
      if (raced !== undefined) {
        this.persistent.delete(name);
        void this.retire(raced, EndReason.Removed);
      }
      return this.start(record, lease);
    }
  }

  /** Starts delivering a subscription here, under `lease` when the store has leases. */
  private start(record: SubscriptionRecord, lease: SubscriptionLease | undefined): PersistentSubscription {
    const name = record.name;
    const subscription: PersistentSubscription = new PersistentSubscription(
      { store: this.store, appends: this.appends, clock: this.clock, logger: this.logger },
      {
        record,
        batchEvents: this.readBatchEvents,
        onGone: () => this.gone(subscription),
        onIdle: () => this.retireWhenIdle(subscription),
      },
    );
    this.persistent.set(name, subscription);
    // No session yet (a replay may be all that loaded it): the caller connects one at once, or it is retired.
    this.retireWhenIdle(subscription);
    if (lease !== undefined) {
      this.leases.set(subscription, lease);
      this.scheduleRecordCheck();
      void lease.lost.then(() => {
        if (this.persistent.get(name) !== subscription) return;
        this.logger.warn({ subscription: name }, 'subscription lease lost; its session ends');
        this.persistent.delete(name);
        void this.retire(subscription, EndReason.LeaseLost);
      });
    }
    return subscription;
  }

  /**
   * The lease of `name` when the store is shared by several nodes (undefined when it is not). Throws `unavailable`,
   * marked as not delivered, when another node holds it: the gateway then tries the call on another worker.
   */
  private async acquireLease(name: string): Promise<SubscriptionLease | undefined> {
    if (this.store.acquireSubscriptionLease === undefined) return undefined;
    const lease = await this.store.acquireSubscriptionLease(name);
    if (lease === undefined) {
      throw new UnavailableError(`subscription '${name}' is delivered by another node`, {
        subscription: name,
        delivered: false,
      });
    }
    return lease;
  }

  /** The store says `subscription` is gone (removed through another node): its delivery here ends. */
  private gone(subscription: PersistentSubscription): void {
    if (this.persistent.get(subscription.name) !== subscription) return;
    this.logger.info({ subscription: subscription.name }, 'subscription removed through another node; its session ends');
    this.persistent.delete(subscription.name);
    void this.retire(subscription, EndReason.Removed);
  }

  /**
   * While leases are held, reads the records of their subscriptions back now and then: another node may remove one
   * (or save it again) without this node hearing of it.
   */
  private scheduleRecordCheck(): void {
    if (this.recordCheck !== undefined || this.leases.size === 0 || this.closed || this.recordCheckIntervalMs <= 0) return;
    this.recordCheck = this.clock.schedule(this.recordCheckIntervalMs, () => {
      void this.checkRecords().finally(() => {
        this.recordCheck = undefined;
        this.scheduleRecordCheck();
      });
    });
  }

  private async checkRecords(): Promise<void> {
    for (const subscription of [...this.leases.keys()]) {
      let current: SubscriptionRecord | undefined;
      try {
        current = await this.store.getSubscription(subscription.name);
      } catch (err) {
        this.logger.debug({ err, subscription: subscription.name }, 'reading a subscription record back failed');
        continue;
      }
      if (current === undefined || current.createdAt !== subscription.record.createdAt) this.gone(subscription);
    }
  }

  /**
   * Retires `subscription`, which has no session, once it has had none for `idleLeaseReleaseMs`, unless a session
   * arrives first (`connect` cancels this). Counted from the first moment without a session.
   */
  private retireWhenIdle(subscription: PersistentSubscription): void {
    if (this.closed || this.idleRetirements.has(subscription)) return;
    const timer = this.clock.schedule(this.idleLeaseReleaseMs, () => {
      if (this.idleRetirements.get(subscription) !== timer) return;
      this.idleRetirements.delete(subscription);
      if (this.persistent.get(subscription.name) !== subscription || subscription.hasSession) return;
      if (this.store.acquireSubscriptionLease === undefined && !subscription.atRest) {
        // No lease to give up, and loading it again would forget delivery counts or queued replays: keep it a while.
        this.retireWhenIdle(subscription);
        return;
      }
      this.logger.debug({ subscription: subscription.name }, 'subscription without a session; retiring it here');
      this.persistent.delete(subscription.name);
      void this.retire(subscription, EndReason.Closed);
    });
    this.idleRetirements.set(subscription, timer);
  }

  private cancelIdleRetirement(subscription: PersistentSubscription): void {
    this.idleRetirements.get(subscription)?.cancel();
    this.idleRetirements.delete(subscription);
  }

  /**
   * Ends a subscription's delivery here, then gives its lease up (after the last checkpoint save: events left
   * unacknowledged stay after the durable checkpoint, so whoever delivers it next delivers them again). The caller has
   * taken it out of `persistent` already.
   */
  private retire(subscription: PersistentSubscription, reason: string): Promise<void> {
    this.cancelIdleRetirement(subscription);
    const retiring = (async () => {
      try {
        await subscription.close(reason);
      } finally {
        const lease = this.leases.get(subscription);
        this.leases.delete(subscription);
        await lease?.release().catch((err: unknown) => this.logger.warn({ err }, 'releasing a lease failed'));
      }
    })();
    const name = subscription.name;
    const all = Promise.all([this.retirements.get(name), retiring.catch(() => {})]).then(() => {});
    this.retirements.set(name, all);
    void all.then(() => {
      if (this.retirements.get(name) === all) this.retirements.delete(name);
    });
    return retiring;
  }

  private ensureOpen(): void {
    if (this.closed) throw new UnavailableError('the subscription hub is closed', { store: this.store.storeId });
  }
}

function sameDefinition(a: SubscriptionRecord, b: SubscriptionRecord): boolean {
  return (
    a.type === b.type &&
    a.createdAt === b.createdAt &&
    a.startFrom === b.startFrom &&
    JSON.stringify(a.selector) === JSON.stringify(b.selector) &&
    JSON.stringify(a.options) === JSON.stringify(b.options)
  );
}
