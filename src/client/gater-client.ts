/**
 * The TypeScript client of gater: the whole `GaterApi` over the HTTP API of any node, with the same types and the
 * same typed errors as the gateway itself (a `wrong_expected_version` arrives as a WrongExpectedVersionError carrying
 * `currentVersion`). Subscriptions are async iterators over server-sent events that reconnect and resume on their own
 * (see http-subscription.ts). Every call has a deadline (`x-gater-deadline-ms`, 5,000 ms unless set) and takes an
 * AbortSignal; a call whose request could not reach the node is tried again within its deadline when that is safe,
 * which includes appends: the client gives every event an id, so a repeated append never writes twice. A call that
 * is not safe to repeat and broke after its request was sent fails with `unavailable` and `data.outcome: 'unknown'`.
 *
 * ```ts
 * const client = new GaterClient({}, { url: 'http://127.0.0.1:4001' });
 * await client.appendEvents('default', 'greenhouse1', [{ eventType: 'initialized:v1', data: { name: 'g1' } }]);
 * for await (const { event } of await client.observe('default', { type: 'by_stream', selector: '$all' })) { ... }
 * ```
 */
import type { Logger } from 'pino';
import { GaterError, InvalidArgumentError, NotFoundError, TimeoutError, UnavailableError } from '../errors/index.ts';
import type {
  AppendOptions,
  CallOptions,
  GaterApi,
  ReadOptions,
  StoreDetails,
  StoreSummary,
  WorkerInfo,
} from '../gateway/gater-api.ts';
import type { HealthReport } from '../http/routes/health.ts';
import type { StoreBackendName } from '../store/event-store.ts';
import type { ObserveSpec } from '../store/subscriptions/types.ts';
import type {
  AppendResult,
  EventFilter,
  FilteredRead,
  NewEvent,
  ParkedEvent,
  RecordedEvent,
  SnapshotInput,
  SnapshotQuery,
  SnapshotRecord,
  StreamInfo,
  SubscriptionRecord,
  SubscriptionSelector,
  SubscriptionSpec,
  SubscriptionType,
} from '../store/types.ts';
import { canonicalJson, validateSelector } from '../store/validate.ts';
import { uuidv7 } from '../util/uuid.ts';
import { DEFAULT_URL, MAX_DEADLINE_MS } from './constants.ts';
import { HttpSubscription, type HttpSubscriptionInit, type StreamOptions } from './http-subscription.ts';
import { HttpTransport, type RequestSpec } from './http-transport.ts';

export interface GaterClientComponents {
  /** @default a silent logger */
  logger?: Logger;
  /** @default the global fetch (keep-alive connections pooled per origin) */
  fetch?: typeof fetch;
}

export interface GaterClientInit {
  /** Base URL of any node's HTTP API. @default 'http://127.0.0.1:4001' */
  url?: string;
  /** Deadline of a call that sets none, in milliseconds, retries included. @default 5000 */
  deadlineMs?: number;
  /** Headers sent with every request. @default none */
  headers?: Record<string, string>;
}

/** Options of `observe` and `subscribe`: the call's deadline (for opening) and how the stream reconnects. */
export interface SubscribeOptions extends CallOptions, StreamOptions {}

/** The body of `GET /v1/cluster`: this node, its peers and the worker registry (fields as the node sends them). */
export interface ClusterView {
  self: { nodeId: string; name: string; state?: string; incarnation?: number; stores?: string[]; [key: string]: unknown };
  peers: {
    nodeId: string;
    name: string;
    state: 'alive' | 'suspect' | 'dead';
    lastSeen?: string;
    incarnation?: number;
    stores?: string[];
    roles?: string[];
    connected?: boolean;
    [key: string]: unknown;
  }[];
  [key: string]: unknown;
}

interface WireWorker {
  nodeId: string;
  workerId: string;
  backend: StoreBackendName;
}

export class GaterClient implements GaterApi {
  readonly url: string;
  private readonly transport: HttpTransport;
  private readonly logger: Logger | undefined;
  private readonly open = new Set<HttpSubscription>();
  /** Aborted by `close()`: it cancels the subscriptions still opening, and marks the client closed. */
  private readonly closing = new AbortController();

  constructor(components: GaterClientComponents = {}, init: GaterClientInit = {}) {
    this.logger = components.logger;
    this.transport = new HttpTransport(components, { url: init.url ?? DEFAULT_URL, ...pick(init, 'deadlineMs', 'headers') });
    this.url = this.transport.url;
  }

  /**
   * Appends events, giving an id to each that has none (the caller's events are not changed). The ids make the append
   * idempotent: the client sends it again after a connection broke mid-request, and so may the caller. When the
   * outcome is unknown (`timeout`, or `unavailable` with `data.outcome === 'unknown'`: the node may have written the
   * events), the error's `data.eventIds` lists the ids used, in order; appending the same events with those ids writes
   * them at most once.
   */
  async appendEvents(store: string, streamId: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const withIds = Array.isArray(events) ? events.map((e) => (e?.eventId === undefined ? { ...e, eventId: uuidv7() } : e)) : events;
    const body: Record<string, unknown> = { events: withIds };
    if (options.expectedVersion !== undefined) body['expectedVersion'] = options.expectedVersion;
    try {
      return await this.call({ method: 'POST', path: streamPath(store, streamId, '/events'), body, idempotent: true }, options);
    } catch (err) {
      if (err instanceof GaterError && Array.isArray(withIds) && mayHaveWritten(err)) {
        err.data['eventIds'] = withIds.map((e) => e?.eventId);
      }
      throw err;
    }
  }

  async getEvents(store: string, streamId: string, options: ReadOptions = {}): Promise<RecordedEvent[]> {
    const query = { from: options.fromVersion, count: options.count, direction: options.direction };
    const { events } = await this.call<{ events: RecordedEvent[] }>(
      { method: 'GET', path: streamPath(store, streamId, '/events'), query, idempotent: true },
      options,
    );
    return events;
  }

  async getVersion(store: string, streamId: string, options?: CallOptions): Promise<number> {
    const { version } = await this.get<{ version: number }>(streamPath(store, streamId, '/version'), options);
    return version;
  }

  async getStreams(store: string, options?: CallOptions): Promise<StreamInfo[]> {
    return (await this.get<{ streams: StreamInfo[] }>(`${storePath(store)}/streams`, options)).streams;
  }

  async deleteStream(store: string, streamId: string, options?: CallOptions): Promise<void> {
    await this.call({ method: 'DELETE', path: streamPath(store, streamId, ''), idempotent: false }, options);
  }

  async readAll(store: string, fromPosition: number, count: number, options?: CallOptions): Promise<FilteredRead> {
    return this.page(`${storePath(store)}/all`, { from: fromPosition, count }, options);
  }

  async readEvents(store: string, filter: EventFilter, fromPosition: number, count: number, options?: CallOptions): Promise<FilteredRead> {
    const query = {
      types: filter.types === undefined ? undefined : nameList(filter.types, 'filter.types'),
      tags: filter.tags === undefined ? undefined : nameList(filter.tags, 'filter.tags'),
      match: filter.tags === undefined ? undefined : filter.tagMatch,
      from: fromPosition,
      count,
    };
    return this.page(`${storePath(store)}/events`, query, options);
  }

  async getStore(store: string, options?: CallOptions): Promise<StoreDetails> {
    const body = await this.get<Omit<StoreDetails, 'workers'> & { workers: WireWorker[] }>(storePath(store), options);
    return { ...body, workers: body.workers.map((w) => workerInfo(body.store, w)) };
  }

  async listStores(options?: CallOptions): Promise<StoreSummary[]> {
    const { stores } = await this.get<{ stores: { store: string; workers: WireWorker[] }[] }>('/v1/stores', options);
    return stores.map(({ store, workers }) => ({ store, workers: workers.map((w) => workerInfo(store, w)) }));
  }

  async recordSnapshot(store: string, snapshot: SnapshotInput, options?: CallOptions): Promise<void> {
    const body: Record<string, unknown> = { data: snapshot.data };
    if (snapshot.metadata !== undefined) body['metadata'] = snapshot.metadata;
    await this.call(
      { method: 'PUT', path: snapshotPath(store, snapshot.sourceUuid, snapshot.streamUuid, snapshot.version), body, idempotent: true },
      options,
    );
  }

  async readSnapshot(store: string, sourceUuid: string, streamUuid: string, version: number, options?: CallOptions): Promise<SnapshotRecord> {
    return (await this.get<{ snapshot: SnapshotRecord }>(snapshotPath(store, sourceUuid, streamUuid, version), options)).snapshot;
  }

  async deleteSnapshot(store: string, sourceUuid: string, streamUuid: string, version: number, options?: CallOptions): Promise<void> {
    await this.call({ method: 'DELETE', path: snapshotPath(store, sourceUuid, streamUuid, version), idempotent: false }, options);
  }

  async listSnapshots(store: string, query: SnapshotQuery = {}, options?: CallOptions): Promise<SnapshotRecord[]> {
    const { snapshots } = await this.call<{ snapshots: SnapshotRecord[] }>(
      { method: 'GET', path: `${storePath(store)}/snapshots`, query: { ...query }, idempotent: true },
      options,
    );
    return snapshots;
  }

  async saveSubscription(store: string, spec: SubscriptionSpec, options?: CallOptions): Promise<SubscriptionRecord> {
    const body: Record<string, unknown> = { type: spec.type, selector: spec.selector };
    if (spec.startFrom !== undefined) body['startFrom'] = spec.startFrom;
    if (spec.options !== undefined) body['options'] = spec.options;
    const { subscription } = await this.call<{ subscription: SubscriptionRecord }>(
      { method: 'PUT', path: subscriptionPath(store, spec.name), body, idempotent: true },
      options,
    );
    return subscription;
  }

  async removeSubscription(
    store: string,
    type: SubscriptionType,
    selector: SubscriptionSelector,
    name: string,
    options?: CallOptions,
  ): Promise<void> {
    // The HTTP API removes by name (unique in a store); the gateway's contract keys by (type, selector, name), so a
    // name saved with another type or selector is not the one asked for. Both calls share the one deadline.
    // Compared as the store compares them: the canonical form of the validated selector (keys sorted, tags deduplicated).
    const wanted = canonicalJson(validateSelector(type, selector));
    const within = { ...options, deadlineAt: this.transport.deadlineAt(options) };
    const record = await this.getSubscription(store, name, within);
    if (record.type !== type || canonicalJson(record.selector) !== wanted) {
      throw new NotFoundError(`subscription '${name}' of type ${type} with that selector`, { subscription: name });
    }
    await this.call({ method: 'DELETE', path: subscriptionPath(store, name), idempotent: false }, within);
  }

  async getSubscriptions(store: string, options?: CallOptions): Promise<SubscriptionRecord[]> {
    return (await this.get<{ subscriptions: SubscriptionRecord[] }>(`${storePath(store)}/subscriptions`, options)).subscriptions;
  }

  async getSubscription(store: string, name: string, options?: CallOptions): Promise<SubscriptionRecord> {
    return (await this.get<{ subscription: SubscriptionRecord }>(subscriptionPath(store, name), options)).subscription;
  }

  /**
   * Opens the delivery session of a saved persistent subscription. The iterator's `ack(positions)` acknowledges
   * (so does `ackEvents`); after a break the node resumes after the checkpoint and delivers again what was not acked.
   */
  async subscribe(store: string, name: string, options: SubscribeOptions = {}): Promise<HttpSubscription> {
    const started = Date.now();
    return this.openStream(`subscribing to '${name}'`, started, this.transport.deadlineAt(options), options, {
      ...streamOptions(options),
      kind: 'persistent',
      path: `${subscriptionPath(store, name)}/events`,
      query: {},
      ack: (positions) => this.ackEvents(store, name, positions),
    });
  }

  async ackEvents(store: string, name: string, positions: number[], options?: CallOptions): Promise<{ checkpoint: number }> {
    return this.call({ method: 'POST', path: `${subscriptionPath(store, name)}/ack`, body: { positions }, idempotent: true }, options);
  }

  async listParked(store: string, name: string, options?: CallOptions): Promise<ParkedEvent[]> {
    return (await this.get<{ parked: ParkedEvent[] }>(`${subscriptionPath(store, name)}/parked`, options)).parked;
  }

  async replayParked(store: string, name: string, positions?: number[], options?: CallOptions): Promise<{ replayed: number }> {
    const body = positions === undefined ? {} : { positions };
    return this.call({ method: 'POST', path: `${subscriptionPath(store, name)}/parked/replay`, body, idempotent: false }, options);
  }

  /**
   * A transient subscription. Without `startFrom` it starts at the store's head as of this call (the client asks for
   * it first), so that a reconnect before the first event still knows where to resume.
   */
  async observe(store: string, spec: ObserveSpec, options: SubscribeOptions = {}): Promise<HttpSubscription> {
    // Asking for the head and opening the stream share the call's one deadline.
    const started = Date.now();
    const deadlineAt = this.transport.deadlineAt(options);
    const query = {
      type: spec.type,
      selector: selectorText(spec.type, spec.selector),
      match: spec.options?.tagMatch,
    };
    const startFrom = spec.startFrom ?? (await this.getStore(store, { ...options, deadlineAt })).lastPosition + 1;
    return this.openStream(`observing store '${store}'`, started, deadlineAt, options, {
      ...streamOptions(options),
      kind: 'transient',
      path: `${storePath(store)}/observe`,
      query,
      startFrom,
    });
  }

  /** The cluster as the node sees it: itself, its peers (with their state) and the worker registry. */
  async cluster(options?: CallOptions): Promise<ClusterView> {
    return this.get<ClusterView>('/v1/cluster', options);
  }

  /**
   * The node's readiness report; answers (rather than throws) when the node says it is not ready, which it does with
   * HTTP 503 and the report as the body.
   */
  async health(options?: CallOptions): Promise<HealthReport> {
    const notReady = (status: number, body: unknown): boolean => status === 503 && isHealthReport(body);
    return this.call<HealthReport>({ method: 'GET', path: '/health/ready', idempotent: true, answers: notReady }, options);
  }

  /** Subscriptions this client has open. */
  get subscriptions(): readonly HttpSubscription[] {
    return [...this.open];
  }

  /**
   * Closes every subscription this client opened or is opening (an opening one rejects). Calls in flight finish on
   * their own; calls made after this fail with `unavailable` ("the gater client is closed").
   */
  close(): void {
    if (this.closing.signal.aborted) return;
    for (const subscription of this.open) subscription.close('client closed');
    this.open.clear();
    this.closing.abort();
  }

  /**
   * Opens the event stream `init` within what is left of the call's deadline (`deadlineAt`, counted from `started`),
   * ended by the caller's signal and by `close()`.
   */
  private openStream(
    what: string,
    started: number,
    deadlineAt: number,
    options: SubscribeOptions,
    init: HttpSubscriptionInit,
  ): Promise<HttpSubscription> {
    const openWithinMs = openWithin(deadlineAt);
    if (openWithinMs < 1) return Promise.reject(new TimeoutError(what, Math.max(0, deadlineAt - started)));
    const components = { transport: this.transport, ...(this.logger === undefined ? {} : { logger: this.logger }) };
    return this.track(
      (signal) => HttpSubscription.open(components, init, { deadlineMs: openWithinMs, signal }),
      options.signal,
    );
  }

  /** Opens a subscription that the caller's signal and `close()` both end, and keeps it for `close()`. */
  private async track(
    open: (signal: AbortSignal) => Promise<HttpSubscription>,
    callerSignal: AbortSignal | undefined,
  ): Promise<HttpSubscription> {
    if (this.closing.signal.aborted) throw this.closedError();
    const signal = callerSignal === undefined ? this.closing.signal : AbortSignal.any([callerSignal, this.closing.signal]);
    let subscription: HttpSubscription;
    try {
      subscription = await open(signal);
    } catch (err) {
      throw this.closing.signal.aborted ? this.closedError(err) : err;
    }
    if (this.closing.signal.aborted) {
      subscription.close('client closed');
      throw this.closedError();
    }
    this.open.add(subscription);
    void subscription.ended.then(() => this.open.delete(subscription));
    return subscription;
  }

  private closedError(cause?: unknown): UnavailableError {
    return new UnavailableError('the gater client is closed', { url: this.url }, cause === undefined ? undefined : { cause });
  }

  private get<T>(path: string, options?: CallOptions): Promise<T> {
    return this.call<T>({ method: 'GET', path, idempotent: true }, options);
  }

  private async page(path: string, query: RequestSpec['query'], options?: CallOptions): Promise<FilteredRead> {
    const { events, nextPosition } = await this.call<{ events: RecordedEvent[]; nextPosition: number }>(
      { method: 'GET', path, query, idempotent: true },
      options,
    );
    return { events, scannedTo: nextPosition - 1 };
  }

  private call<T>(spec: RequestSpec, options?: CallOptions): Promise<T> {
    if (this.closing.signal.aborted) return Promise.reject(this.closedError());
    return this.transport.request<T>(spec, options);
  }
}

function storePath(store: string): string {
  return `/v1/stores/${segment(store, 'store')}`;
}

function streamPath(store: string, streamId: string, rest: string): string {
  return `${storePath(store)}/streams/${segment(streamId, 'streamId')}${rest}`;
}

function subscriptionPath(store: string, name: string): string {
  return `${storePath(store)}/subscriptions/${segment(name, 'name')}`;
}

function snapshotPath(store: string, sourceUuid: string, streamUuid: string, version: number): string {
  return `${storePath(store)}/snapshots/${segment(sourceUuid, 'sourceUuid')}/${segment(streamUuid, 'streamUuid')}/${version}`;
}

/**
 * One encoded path segment. `.` and `..` (or `%2E` spelled) are refused: URL parsing resolves them as dot segments,
 * so the request would go to another route, and the HTTP API's paths have no other way to carry them.
 */
function segment(value: string, field: string): string {
  if (value === '.' || value === '..') {
    throw new InvalidArgumentError(field, `cannot be '${value}': the HTTP API's paths cannot carry it`);
  }
  return encodeURIComponent(value);
}

function isHealthReport(body: unknown): body is HealthReport {
  const report = body as Partial<HealthReport> | null;
  return typeof report === 'object' && report !== null && typeof report.ready === 'boolean' && typeof report.checks === 'object';
}

/** Whether a failed write may still have been carried out: the node or the client gave up waiting, or said so. */
function mayHaveWritten(err: GaterError): boolean {
  return err.code === 'timeout' || err.data['outcome'] === 'unknown';
}

/** A worker as the client reports it: a client is never on the node answering, so no worker is `local` to it. */
function workerInfo(store: string, { nodeId, workerId, backend }: WireWorker): WorkerInfo {
  return { store, workerId, nodeId, backend, local: false };
}

/** A selector as the observe route reads it: JSON for payloads, a comma-separated list of tags, else the text. */
export function selectorText(type: SubscriptionType, selector: SubscriptionSelector): string {
  if (type === 'by_event_payload') return JSON.stringify(selector);
  if (type === 'by_tags' && Array.isArray(selector)) return nameList(selector, 'selector');
  return String(selector);
}

/**
 * Names (event types, tags) as one comma-separated query parameter. The node splits it at commas and trims each
 * name, so a name with a comma or with blanks at either end would select other events: it is refused instead.
 */
function nameList(names: readonly string[], field: string): string {
  for (const [i, name] of names.entries()) {
    if (typeof name === 'string' && (name.includes(',') || name !== name.trim())) {
      throw new InvalidArgumentError(
        `${field}[${i}]`,
        "cannot hold a comma or start or end with blanks: the HTTP API's list parameters cannot carry it",
      );
    }
  }
  return names.join(',');
}

/** Milliseconds left to open a stream by `deadlineAt`, at most the longest deadline the node takes. */
function openWithin(deadlineAt: number): number {
  return Math.min(MAX_DEADLINE_MS, Math.floor(deadlineAt - Date.now()));
}

function streamOptions(options: SubscribeOptions): StreamOptions & { openDeadlineMs?: number } {
  const picked: StreamOptions & { openDeadlineMs?: number } = pick(options, 'reconnect', 'idleTimeoutMs', 'reconnectTimeoutMs', 'onStateChange');
  if (options.deadlineMs !== undefined) picked.openDeadlineMs = options.deadlineMs;
  return picked;
}

/** The given keys of `from` that are set, without the undefined ones (exactOptionalPropertyTypes-safe). */
function pick<T extends object, K extends keyof T>(from: T, ...keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}
