/**
 * A subscription read from a node's event stream (server-sent events), as an async iterator of deliveries that
 * survives the connection: when the stream breaks (the node restarts, the network drops, the stream goes silent past
 * the idle timeout) the next pull reconnects with backoff and carries on where it left off.
 *
 * - A transient subscription (observe) resumes from one past the last position it delivered, and never delivers a
 *   position twice, so a reconnect leaves no gap and no duplicate.
 * - A persistent subscription resumes where the node has it: after its checkpoint, with the events delivered but not
 *   acknowledged delivered again (`attempt` > 1). Acknowledge before pulling the next event and nothing comes twice.
 *
 * Reconnecting happens inside `next()`, only when the consumer asks for more, so an acknowledgement the consumer
 * awaited is always in before the stream is opened again. Errors that no retry can fix (the subscription was
 * removed, the request is invalid) end the iteration by throwing.
 *
 * A persistent subscription has one delivery session at a time: a second consumer of the same subscription takes the
 * session over, and the node ends the first one's stream saying so (`event: end`, reason `replaced`). The first then
 * ends too, throwing `conflict`, rather than reconnect to take the session back, which would make two consumers take
 * it from each other for ever. A stream the node ends for another reason (its lease moved, the node stopping) is
 * reconnected; one of a removed subscription throws `not_found`.
 */
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { fromWire, GaterError, NotFoundError, toGaterError, UnavailableError } from '../errors/index.ts';
import type { Delivery, EventSubscription } from '../store/subscriptions/types.ts';
import type { RecordedEvent } from '../store/types.ts';
import { RECONNECT_BASE_DELAY_MS, STREAM_IDLE_TIMEOUT_MS } from './constants.ts';
import { backoff, cancelled, isAborted, sleep, type HttpTransport, type Query } from './http-transport.ts';
import { SseParser, type SseMessage } from './sse-parser.ts';

export type SubscriptionKind = 'transient' | 'persistent';

/** `open`: the stream is connected; `reconnecting`: it broke and the next pull reconnects; `closed`: over. */
export type SubscriptionState = 'open' | 'reconnecting' | 'closed';

export interface StreamOptions {
  /** Reconnect when the stream breaks; false ends the iteration instead. @default true */
  reconnect?: boolean;
  /** Milliseconds of silence (not even a keep-alive comment) after which the connection is taken for dead.
   * @default 45000 */
  idleTimeoutMs?: number;
  /** Give up (the iterator throws `unavailable`) after the stream has been down this many milliseconds, whether the
   * node refuses connections or takes them and never answers. @default no limit */
  reconnectTimeoutMs?: number;
  /** Called on every change of state, with the error that broke the stream when there is one. */
  onStateChange?: (state: SubscriptionState, error?: GaterError) => void;
}

export interface HttpSubscriptionComponents {
  transport: HttpTransport;
  logger?: Logger;
}

export interface HttpSubscriptionInit extends StreamOptions {
  kind: SubscriptionKind;
  /** Path of the event stream. */
  path: string;
  /** Query of the stream's URL. */
  query: Query;
  /** For a transient subscription: the global position the first connection starts at. */
  startFrom?: number;
  /** Milliseconds the node has to open the subscription on each connection. */
  openDeadlineMs?: number;
  /** Acknowledges positions (persistent subscriptions only). */
  ack?: (positions: number[]) => Promise<{ checkpoint: number }>;
}

interface Connection {
  reader: ReadableStreamDefaultReader<string>;
  controller: AbortController;
  /** Removes the connection's listener on the subscription's own close signal. */
  unlink: () => void;
}

export class HttpSubscription implements EventSubscription, AsyncIterator<Delivery> {
  readonly id = randomUUID();
  readonly kind: SubscriptionKind;
  readonly ended: Promise<string>;
  private readonly transport: HttpTransport;
  private readonly logger: Logger;
  private readonly init: HttpSubscriptionInit;
  private readonly closing = new AbortController();
  private resolveEnded!: (reason: string) => void;
  private connection: Connection | undefined;
  private parser = new SseParser();
  private readonly queue: SseMessage[] = [];
  private stateValue: SubscriptionState = 'reconnecting';
  private last = -1;
  /** Positions acked through `ack()` beyond the checkpoint the node reported (see `ack`). */
  private readonly acked = new Set<number>();
  private downSince: number | undefined;
  private reconnectCount = 0;
  /** Pulls run one at a time, whoever calls `next()`. */
  private pulling: Promise<unknown> = Promise.resolve();

  private constructor(components: HttpSubscriptionComponents, init: HttpSubscriptionInit) {
    this.transport = components.transport;
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.init = init;
    this.kind = init.kind;
    if (init.startFrom !== undefined) this.last = init.startFrom - 1;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /**
   * Opens the first connection; rejects with the node's error when the subscription cannot be opened.
   * `first.deadlineMs` bounds this first opening alone (what is left of a caller's deadline); reconnects get
   * `openDeadlineMs` each. `first.signal` cancels the opening (it rejects as a cancelled call does, and an aborted
   * signal sends no request at all), and once the subscription is open, closes it.
   */
  static async open(
    components: HttpSubscriptionComponents,
    init: HttpSubscriptionInit,
    first: { deadlineMs?: number; signal?: AbortSignal } = {},
  ): Promise<HttpSubscription> {
    const { signal } = first;
    // Not even a request: opening a persistent subscription takes its session away from whoever consumes it.
    if (isAborted(signal)) throw cancelled();
    const subscription = new HttpSubscription(components, init);
    const onAbort = (): void => subscription.close('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    void subscription.ended.then(() => signal?.removeEventListener('abort', onAbort));
    try {
      await subscription.connect(first.deadlineMs);
    } catch (err) {
      subscription.close('failed to open');
      throw isAborted(signal) ? cancelled(err) : err;
    }
    return subscription;
  }

  get state(): SubscriptionState {
    return this.stateValue;
  }

  /** Global position of the last event delivered; -1 before the first. */
  get lastPosition(): number {
    return this.last;
  }

  /** How many times the stream was opened again after it broke. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /**
   * Acknowledges delivered events of a persistent subscription; returns the durable checkpoint. Positions acked here
   * that the node has not counted yet (it restarted and forgot the delivery) are remembered: when the node delivers
   * one of them again, the subscription acks it again instead of handing it out twice.
   */
  async ack(positions: number | number[]): Promise<{ checkpoint: number }> {
    if (this.init.ack === undefined) {
      throw new GaterError('invalid_argument', 'only a persistent subscription takes acknowledgements', { field: 'positions' });
    }
    const list = Array.isArray(positions) ? positions : [positions];
    const result = await this.init.ack(list);
    for (const position of list) if (position > result.checkpoint) this.acked.add(position);
    for (const position of this.acked) if (position <= result.checkpoint) this.acked.delete(position);
    return result;
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return this;
  }

  next(): Promise<IteratorResult<Delivery>> {
    const pull = this.pulling.then(() => this.pull());
    this.pulling = pull.catch(() => undefined);
    return pull;
  }

  async return(): Promise<IteratorResult<Delivery>> {
    this.close();
    return { done: true, value: undefined };
  }

  close(reason = 'closed'): void {
    if (this.isClosed()) return;
    this.closing.abort();
    this.setState('closed');
    this.drop();
    this.resolveEnded(reason);
  }

  private isClosed(): boolean {
    return this.closing.signal.aborted;
  }

  private async pull(): Promise<IteratorResult<Delivery>> {
    for (;;) {
      if (this.isClosed()) return { done: true, value: undefined };
      const message = this.queue.shift();
      if (message !== undefined) {
        const delivery = this.handle(message);
        if (delivery === undefined) continue;
        if (this.acked.has(delivery.event.position)) {
          await this.ack(delivery.event.position).catch((err: unknown) => this.logger.debug({ err }, 'ack again failed'));
          continue;
        }
        return { done: false, value: delivery };
      }
      if (this.connection === undefined) {
        if (this.init.reconnect === false) {
          this.close('stream ended');
          continue;
        }
        await this.reconnect();
        continue;
      }
      await this.read(this.connection);
    }
  }

  /** Reads one chunk into the queue; a broken or silent stream drops the connection. */
  private async read(connection: Connection): Promise<void> {
    const idle = setTimeout(() => connection.controller.abort(), this.init.idleTimeoutMs ?? STREAM_IDLE_TIMEOUT_MS);
    try {
      const { done, value } = await connection.reader.read();
      if (done) return this.broken(new UnavailableError('the event stream ended'));
      this.queue.push(...this.parser.push(value));
    } catch (err) {
      if (this.stateValue !== 'closed') this.broken(new UnavailableError('the event stream broke', {}, { cause: err }));
    } finally {
      clearTimeout(idle);
    }
  }

  /** Turns one message into a delivery, or undefined for what is not one (or was delivered already). */
  private handle(message: SseMessage): Delivery | undefined {
    if (message.event === 'error') {
      const error = parseError(message.data);
      if (isRetryable(error)) {
        this.broken(error);
        return undefined;
      }
      this.close(`error: ${error.code}`);
      throw error;
    }
    if (message.event === 'end') return this.endedByNode(message.data);
    if (message.event !== 'event') return undefined;
    const { event, attempt } = JSON.parse(message.data) as { event: RecordedEvent; attempt: number };
    // A transient stream resumed from `last + 1` cannot repeat a position; this makes sure of it.
    if (this.kind === 'transient' && event.position <= this.last) return undefined;
    this.last = Math.max(this.last, event.position);
    return { event, attempt };
  }

  /** The node ended the stream, saying why: replaced and removed end this subscription; anything else reconnects. */
  private endedByNode(data: string): undefined {
    let reason = 'unknown';
    try {
      const parsed: unknown = JSON.parse(data);
      if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { reason?: unknown }).reason === 'string') {
        reason = (parsed as { reason: string }).reason;
      }
    } catch {
      // A malformed end is an end all the same: reconnect.
    }
    if (reason === 'replaced') {
      this.close('replaced');
      throw new GaterError(
        'conflict',
        `another session of ${this.init.path} took over its delivery (a second consumer subscribed); this one ends ` +
          'rather than take it back',
      );
    }
    if (reason === 'removed') {
      this.close('removed');
      throw new NotFoundError(`the subscription of ${this.init.path} (removed)`);
    }
    this.broken(new UnavailableError(`the node ended the event stream (${reason})`));
    return undefined;
  }

  private broken(error: GaterError): void {
    if (this.isClosed()) return;
    this.drop();
    this.downSince ??= Date.now();
    this.logger.debug({ err: error, subscription: this.id }, 'event stream broke; reconnecting on the next pull');
    this.setState('reconnecting', error);
  }

  /**
   * Connects again, with backoff, until it works, the subscription is closed, or `reconnectTimeoutMs` runs out. Pauses
   * and connection attempts are cut to what is left of that limit, so a node that accepts connections but never
   * answers cannot hold the subscription past it.
   */
  private async reconnect(): Promise<void> {
    const limit = this.init.reconnectTimeoutMs;
    const downSince = this.downSince ?? Date.now();
    const giveUpAt = limit === undefined ? Infinity : downSince + limit;
    let last: GaterError | undefined;
    for (let attempt = 0; !this.isClosed(); attempt += 1) {
      if (Date.now() >= giveUpAt) {
        const error = new UnavailableError(
          `the event stream has been down for ${Date.now() - downSince} ms, past reconnectTimeoutMs (${limit} ms)` +
            (last === undefined ? '' : `: ${last.message}`),
          {},
          { cause: last },
        );
        this.close(`error: ${error.code}`);
        throw error;
      }
      await sleep(Math.min(backoff(attempt, RECONNECT_BASE_DELAY_MS), giveUpAt - Date.now()), this.closing.signal);
      if (this.isClosed()) return;
      const { openDeadlineMs } = this.init;
      const openBy = Math.min(this.transport.deadlineAt(openDeadlineMs === undefined ? {} : { deadlineMs: openDeadlineMs }), giveUpAt);
      const openWithinMs = Math.floor(openBy - Date.now());
      if (openWithinMs < 1) continue;
      try {
        await this.connect(openWithinMs);
        this.reconnectCount += 1;
        return;
      } catch (err) {
        const error = toGaterError(err);
        if (this.isClosed()) return;
        if (!isRetryable(error)) {
          this.close(`error: ${error.code}`);
          throw error;
        }
        last = error;
        this.logger.debug({ err: error, attempt }, 'reconnect failed');
        this.setState('reconnecting', error);
      }
    }
  }

  private async connect(deadlineMs = this.init.openDeadlineMs): Promise<void> {
    const query: Query = { ...this.init.query };
    // The node takes `from` as where to start; after a break that is one past the last position delivered.
    if (this.kind === 'transient' && this.last >= 0) query['from'] = this.last + 1;
    else if (this.kind === 'transient' && this.init.startFrom !== undefined) query['from'] = this.init.startFrom;
    const controller = new AbortController();
    const onClose = (): void => controller.abort();
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    try {
      const response = await this.transport.openStream(this.init.path, query, controller.signal, deadlineMs);
      // Closed while the node answered: the abort above came too early to cancel this body.
      if (this.isClosed()) {
        void response.body?.cancel().catch(() => undefined);
        throw new UnavailableError('the subscription was closed');
      }
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      controller.signal.addEventListener('abort', () => void reader.cancel().catch(() => undefined), { once: true });
      this.connection = { reader, controller, unlink: () => this.closing.signal.removeEventListener('abort', onClose) };
    } catch (err) {
      this.closing.signal.removeEventListener('abort', onClose);
      throw err;
    }
    // A message cut off by the break is dropped with the old parser; the node sends it again.
    this.parser = new SseParser();
    this.downSince = undefined;
    this.setState('open');
  }

  private drop(): void {
    const connection = this.connection;
    this.connection = undefined;
    this.queue.length = 0;
    connection?.unlink();
    connection?.controller.abort();
  }

  private setState(state: SubscriptionState, error?: GaterError): void {
    const changed = this.stateValue !== state;
    this.stateValue = state;
    if (!changed && error === undefined) return;
    try {
      this.init.onStateChange?.(state, error);
    } catch (err) {
      this.logger.warn({ err }, 'onStateChange threw');
    }
  }
}

function parseError(data: string): GaterError {
  try {
    const body = JSON.parse(data) as { error?: Record<string, unknown> };
    const { code, message, ...rest } = body.error ?? {};
    return fromWire({ code, message, data: rest });
  } catch {
    return new GaterError('internal', 'the event stream sent an unreadable error');
  }
}

/** Worth reconnecting for: the node or its worker is away for now, or it failed in a way another try may not. */
function isRetryable(error: GaterError): boolean {
  return error.retryable || error.code === 'timeout' || error.code === 'internal';
}
