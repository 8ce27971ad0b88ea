/**
 * Producers: each appends batches of greenhouse events to one stream at a steady rate until stopped. A failed append
 * does not stop a producer (the node may come back); it shows as `failing` with the error until an append succeeds.
 */
import type { GaterApi } from '../gateway/gater-api.ts';
import { toGaterError, type GaterError } from '../errors/index.ts';
import type { GreenhouseEvents } from './greenhouse.ts';

/** Batches per second of a producer when none is given. */
export const DEFAULT_RATE_PER_S = 2;
/** Events per batch when none is given. */
export const DEFAULT_BATCH_SIZE = 5;
/** Highest rate a producer accepts, in batches per second. */
export const MAX_RATE_PER_S = 100;
/** Largest batch a producer accepts. */
export const MAX_BATCH_SIZE = 1_000;

export type ProducerStatus = 'running' | 'failing' | 'stopped';

export interface ProducerInit {
  store: string;
  streamId: string;
  /** Batches per second. @default 2 */
  ratePerS?: number;
  /** Events per batch. @default 5 */
  batchSize?: number;
  /** Stop after this many batches, whether they were appended or failed. @default no limit */
  maxBatches?: number;
}

export interface ProducerComponents {
  api: GaterApi;
  events: GreenhouseEvents;
}

export class Producer {
  readonly store: string;
  readonly streamId: string;
  readonly ratePerS: number;
  readonly batchSize: number;
  private readonly maxBatches: number;
  private readonly api: GaterApi;
  private readonly events: GreenhouseEvents;
  private statusValue: ProducerStatus = 'running';
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private resolveDone!: () => void;
  /** Resolves once the producer has stopped (by `stop()` or after `maxBatches`). */
  readonly done: Promise<void>;
  appended = 0;
  batches = 0;
  failures = 0;
  lastVersion = -1;
  /** The error of the failing append, cleared by the next success. */
  lastError: string | undefined;
  /** The error of the latest failed append, kept after a success: what `gater produce` reports at its end. */
  lastFailure: GaterError | undefined;

  constructor(components: ProducerComponents, init: ProducerInit) {
    this.api = components.api;
    this.events = components.events;
    this.store = init.store;
    this.streamId = init.streamId;
    this.ratePerS = init.ratePerS ?? DEFAULT_RATE_PER_S;
    this.batchSize = init.batchSize ?? DEFAULT_BATCH_SIZE;
    this.maxBatches = init.maxBatches ?? Infinity;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.schedule(0);
  }

  get status(): ProducerStatus {
    return this.statusValue;
  }

  /** Stops producing; resolves once the append in flight, if any, has finished. Idempotent. */
  async stop(): Promise<void> {
    if (this.statusValue !== 'stopped') {
      this.statusValue = 'stopped';
      clearTimeout(this.timer);
      await this.inFlight;
      this.resolveDone();
    }
    return this.done;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.inFlight = this.tick();
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const startedAt = Date.now();
    try {
      const result = await this.api.appendEvents(this.store, this.streamId, this.events.batch(this.streamId, this.batchSize));
      this.appended += this.batchSize;
      this.batches += 1;
      this.lastVersion = result.version;
      this.lastError = undefined;
      if (this.statusValue === 'failing') this.statusValue = 'running';
    } catch (err) {
      this.failures += 1;
      this.lastFailure = toGaterError(err);
      this.lastError = `${this.lastFailure.code}: ${this.lastFailure.message}`;
      if (this.statusValue === 'running') this.statusValue = 'failing';
    }
    if (this.statusValue === 'stopped') return;
    if (this.batches + this.failures >= this.maxBatches) {
      this.statusValue = 'stopped';
      this.resolveDone();
      return;
    }
    this.schedule(Math.max(0, 1000 / this.ratePerS - (Date.now() - startedAt)));
  }
}

/** The producers of one console, one per stream. */
export class Producers {
  private readonly components: ProducerComponents;
  private readonly byStream = new Map<string, Producer>();

  constructor(components: ProducerComponents) {
    this.components = components;
  }

  /** Starts a producer for the stream, replacing one that was stopped; throws if one is already running there. */
  start(init: ProducerInit): Producer {
    const existing = this.byStream.get(init.streamId);
    if (existing !== undefined && existing.status !== 'stopped') {
      throw new Error(`a producer already writes to ${init.streamId}`);
    }
    const producer = new Producer(this.components, init);
    this.byStream.set(init.streamId, producer);
    return producer;
  }

  get(streamId: string): Producer | undefined {
    return this.byStream.get(streamId);
  }

  list(): Producer[] {
    return [...this.byStream.values()];
  }

  running(): Producer[] {
    return this.list().filter((p) => p.status !== 'stopped');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((p) => p.stop()));
  }
}
