/**
 * One RPC connection to a peer, over one long-lived byte channel, carrying many calls in both directions matched by
 * id. Every message produced during one turn of the event loop is written with a single `send` (coalescing: on a
 * libp2p stream one send per message costs several socket writes and a window update each, which dominates small
 * calls). Subscription streams are flow-controlled by credit.
 *
 * When the channel closes, every pending call fails at once with `unavailable` — with `delivered: false` when its
 * request never left this process, so the gateway may safely retry it elsewhere — and open streams end.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import {
  InvalidArgumentError,
  TimeoutError,
  UnavailableError,
  fromWire,
  toGaterError,
  type GaterError,
} from '../errors/index.ts';
import type { EventSubscription } from '../store/subscriptions/types.ts';
import type { StoreCall, StoreStreamCall } from '../worker/protocol.ts';
import type { ByteChannel } from './byte-channel.ts';
import { FrameDecoder, MAX_FRAME_BYTES, encodeFrames } from './framing.ts';
import { RpcKind, decodeMessage, encodeMessage, type RpcMessage } from './messages.ts';
import { RemoteSubscription } from './remote-subscription.ts';

/**
 * Frames that are written at once instead of waiting for the end of the event-loop turn: a large window then leaves
 * in several writes, so the peer starts on the first part while this side still produces the rest (pipelining).
 */
export const EARLY_FLUSH_FRAMES = 50;

/** Deliveries a caller lets a worker send ahead of consumption, per stream. */
export const STREAM_CREDIT = 256;

/** What a node serves to its peers: its local workers. */
export interface RpcHandler {
  call(call: StoreCall, context: { timeoutMs: number; signal: AbortSignal }): Promise<unknown>;
  open(call: StoreStreamCall, context: { signal: AbortSignal }): Promise<EventSubscription>;
}

export interface RpcConnectionComponents {
  channel: ByteChannel;
  /** Serves the peer's calls; absent: this side only makes calls. */
  handler?: RpcHandler;
  logger?: Logger;
}

export interface RpcConnectionInit {
  /** Id of the peer, for logs and errors. */
  peer?: string;
  /** @default 16 MiB */
  maxFrameBytes?: number;
  /** @default 256 */
  streamCredit?: number;
}

/**
 * A request waiting for its answer. A class rather than closures per call: on the hot path of small calls the
 * allocations are what the garbage collector pays for.
 */
class PendingCall {
  /** Whether the request has been handed to the channel. */
  sent = false;
  /** The request's frame while it waits in the outbox (taken out again if the caller gives up first). */
  frame: Uint8Array | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  /** Removes the caller's abort listener, when there is one. */
  detach: (() => void) | undefined = undefined;
  /** For an Open: the stream to feed once it is open. */
  readonly stream: RemoteSubscription | undefined;
  private readonly onResolve: (value: unknown) => void;
  private readonly onReject: (error: GaterError) => void;

  constructor(resolve: (value: unknown) => void, reject: (error: GaterError) => void, stream?: RemoteSubscription) {
    this.onResolve = resolve;
    this.onReject = reject;
    this.stream = stream;
  }

  resolve(value: unknown): void {
    this.settle();
    this.onResolve(value);
  }

  reject(error: GaterError): void {
    this.settle();
    this.onReject(error);
  }

  private settle(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.detach?.();
  }
}

/**
 * The context of a call served for the peer. Its abort signal is made only when the handler asks for it: most
 * handlers never do, and an AbortController per call is a measurable share of a cheap call's cost.
 */
class ServedCall {
  readonly timeoutMs: number;
  private controller: AbortController | undefined = undefined;
  private cancelled = false;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort();
    }
    return this.controller.signal;
  }

  cancel(): void {
    this.cancelled = true;
    this.controller?.abort();
  }
}

interface ServedStream {
  subscription: EventSubscription;
  credit: number;
  wake: (() => void) | undefined;
  closedByCaller: boolean;
}

export class RpcConnection {
  readonly peer: string;
  private readonly channel: ByteChannel;
  private readonly handler: RpcHandler | undefined;
  private readonly logger: Logger;
  private readonly maxFrameBytes: number;
  private readonly streamCredit: number;
  private readonly decoder: FrameDecoder;
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly unsent: PendingCall[] = [];
  private readonly openStreams = new Map<number, RemoteSubscription>();
  private readonly servedCalls = new Map<number, ServedCall>();
  private readonly servedStreams = new Map<number, ServedStream>();
  /**
   * Streams being opened for the peer, by id: true once the peer gave up on one (it timed out or closed it) before
   * the handler finished opening it, so that the subscription is closed at once instead of being served to nobody.
   */
  private readonly openingStreams = new Map<number, boolean>();
  private outbox: Uint8Array[] = [];
  private flushScheduled = false;
  private awaitingDrain = false;
  private closed = false;
  private readonly closeListeners: ((err?: Error) => void)[] = [];
  /** Malformed messages received (counted, then ignored). */
  malformed = 0;

  constructor(components: RpcConnectionComponents, init: RpcConnectionInit = {}) {
    this.channel = components.channel;
    this.handler = components.handler;
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.peer = init.peer ?? 'peer';
    this.maxFrameBytes = init.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.streamCredit = init.streamCredit ?? STREAM_CREDIT;
    this.decoder = new FrameDecoder(this.maxFrameBytes);
    this.channel.onData((chunk) => this.receive(chunk));
    this.channel.onDrain(() => {
      this.awaitingDrain = false;
      this.flush();
    });
    this.channel.onClose((err) => this.shutdown(err));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Calls waiting for an answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  onClose(listener: (err?: Error) => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** Runs a call at the peer. `timeoutMs` travels with it so the worker knows the caller's deadline. */
  call(call: StoreCall, options: { timeoutMs: number; signal?: AbortSignal }): Promise<unknown> {
    if (this.closed) return Promise.reject(this.lostError(false));
    const { timeoutMs, signal } = options;
    if (signal?.aborted === true) return Promise.reject(cancelled(false));
    const id = this.nextId++;
    let frame: Uint8Array;
    try {
      frame = this.requestFrame({ k: RpcKind.Call, id, call, timeoutMs });
    } catch (err) {
      return Promise.reject(toGaterError(err));
    }
    return new Promise<unknown>((resolve, reject) => {
      const entry = new PendingCall(resolve, reject);
      entry.frame = frame;
      this.pending.set(id, entry);
      this.unsent.push(entry);
      entry.timer = setTimeout(this.callTimedOut, timeoutMs, id, call.op, timeoutMs);
      if (signal !== undefined) {
        const onAbort = (): void => this.giveUp(id, cancelled(entry.sent));
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.enqueueFrame(frame);
    });
  }

  /** Opens a subscription stream at the peer; resolves once the peer has opened it. */
  open(call: StoreStreamCall, options: { timeoutMs: number; signal?: AbortSignal }): Promise<EventSubscription> {
    if (this.closed) return Promise.reject(this.lostError(false));
    const { timeoutMs, signal } = options;
    if (signal?.aborted === true) return Promise.reject(cancelled(false));
    const id = this.nextId++;
    let frame: Uint8Array;
    try {
      frame = this.requestFrame({ k: RpcKind.Open, id, call, credit: this.streamCredit });
    } catch (err) {
      return Promise.reject(toGaterError(err));
    }
    const stream = new RemoteSubscription(`${this.peer}/${id}`, this.streamCredit, {
      grant: (credit) => this.enqueue({ k: RpcKind.Credit, id, credit }),
      close: () => {
        if (this.openStreams.delete(id)) this.enqueue({ k: RpcKind.Close, id });
      },
    });
    return new Promise<EventSubscription>((resolve, reject) => {
      const entry = new PendingCall(() => resolve(stream), reject, stream);
      entry.frame = frame;
      this.pending.set(id, entry);
      this.unsent.push(entry);
      const abandon = (error: GaterError): void => {
        if (this.pending.get(id) !== entry) return;
        const sent = entry.sent;
        this.giveUp(id, error);
        // An Open taken back out of the outbox never reached the peer: nothing to close there.
        if (sent) this.enqueue({ k: RpcKind.Close, id });
      };
      entry.timer = setTimeout(() => abandon(new TimeoutError(`opening ${call.op} at ${this.peer}`, timeoutMs)), timeoutMs);
      if (signal !== undefined) {
        const onAbort = (): void => abandon(cancelled(entry.sent));
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.enqueueFrame(frame);
    });
  }

  close(): void {
    this.channel.close();
    this.shutdown();
  }

  // ---- sending -------------------------------------------------------------------------------------------------

  /**
   * The frame of a request this side starts (a Call or an Open). A request no frame can carry (over the size limit,
   * or not encodable, such as data nested too deep to serialise) fails alone with `invalid_argument`, before it is
   * registered: the connection and every other call on it go on.
   */
  private requestFrame(message: RpcMessage): Uint8Array {
    let frame: Uint8Array;
    try {
      frame = encodeMessage(message);
    } catch (err) {
      throw new InvalidArgumentError('call', `cannot be encoded for ${this.peer} (${(err as Error).message})`);
    }
    if (frame.byteLength > this.maxFrameBytes) {
      throw new InvalidArgumentError(
        'call',
        `is ${frame.byteLength} bytes encoded, over the limit of ${this.maxFrameBytes} bytes for a call relayed to another node`,
      );
    }
    return frame;
  }

  /**
   * Sends the answer to a call served for the peer. An answer no frame can carry (a page of large events over the
   * size limit) becomes an error for that call alone, `invalid_argument` (asking for less at once helps; retrying does
   * not), rather than a frame that would end the connection and every call and stream on it.
   */
  private answer(id: number, result: unknown): void {
    let frame: Uint8Array;
    try {
      frame = encodeMessage({ k: RpcKind.Result, id, result });
    } catch (err) {
      this.enqueue({ k: RpcKind.Error, id, error: toGaterError(err).toWire() });
      return;
    }
    if (frame.byteLength > this.maxFrameBytes) {
      this.logger.warn({ peer: this.peer, bytes: frame.byteLength }, 'an RPC answer exceeds the frame limit; sent as an error');
      const error = new InvalidArgumentError(
        'count',
        `the answer is ${frame.byteLength} bytes encoded, over the limit of ${this.maxFrameBytes} bytes for an ` +
          'answer relayed from another node: ask for fewer items at once',
      );
      this.enqueue({ k: RpcKind.Error, id, error: error.toWire() });
      return;
    }
    this.enqueueFrame(frame);
  }

  /**
   * Queues a message of this side's own making: small and plain. Requests, answers and deliveries, which carry the
   * caller's data, are encoded and checked by `requestFrame`, `answer` and `serveStream` instead.
   */
  private enqueue(message: RpcMessage): void {
    if (this.closed) return;
    this.enqueueFrame(encodeMessage(message));
  }

  private enqueueFrame(frame: Uint8Array): void {
    if (this.closed) return;
    this.outbox.push(frame);
    if (this.outbox.length >= EARLY_FLUSH_FRAMES) {
      this.flush();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    if (this.closed || this.awaitingDrain || this.outbox.length === 0) return;
    const frames = this.outbox;
    this.outbox = [];
    let bytes: Buffer;
    try {
      bytes = encodeFrames(frames, this.maxFrameBytes);
    } catch (err) {
      // Every frame that may be large is checked where it is made; this would be a bug, and the peer could not
      // tell which of its calls the lost frames answered.
      this.logger.error({ err, peer: this.peer }, 'an RPC message exceeded the frame limit; closing the connection');
      this.close();
      return;
    }
    for (const entry of this.unsent) {
      entry.sent = true;
      entry.frame = undefined;
    }
    this.unsent.length = 0;
    if (!this.channel.send(bytes)) this.awaitingDrain = true;
  }

  // ---- receiving -----------------------------------------------------------------------------------------------

  private receive(chunk: Uint8Array): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.logger.warn({ err, peer: this.peer }, 'protocol violation on an RPC connection; closing it');
      this.close();
      return;
    }
    for (const frame of frames) {
      const message = decodeMessage(frame);
      if (message === undefined) {
        this.malformed++;
        this.logger.debug({ peer: this.peer }, 'dropped a malformed RPC message');
        continue;
      }
      this.dispatch(message);
    }
  }

  private dispatch(m: RpcMessage): void {
    switch (m.k) {
      case RpcKind.Result: {
        const entry = this.pending.get(m.id);
        if (entry === undefined) return;
        this.pending.delete(m.id);
        if (entry.stream !== undefined) this.openStreams.set(m.id, entry.stream);
        entry.resolve(m.result);
        return;
      }
      case RpcKind.Error: {
        const entry = this.pending.get(m.id);
        if (entry === undefined) return;
        this.pending.delete(m.id);
        entry.reject(fromWire(m.error));
        return;
      }
      case RpcKind.Deliver:
        this.openStreams.get(m.id)?.push(m.delivery);
        return;
      case RpcKind.End: {
        const stream = this.openStreams.get(m.id);
        this.openStreams.delete(m.id);
        stream?.finish(m.reason, m.error === undefined ? undefined : fromWire(m.error));
        return;
      }
      case RpcKind.Call:
        this.serveCall(m.id, m.call, m.timeoutMs);
        return;
      case RpcKind.Cancel:
        this.servedCalls.get(m.id)?.cancel();
        this.servedCalls.delete(m.id);
        if (this.openingStreams.has(m.id)) this.openingStreams.set(m.id, true);
        return;
      case RpcKind.Open:
        void this.serveStream(m.id, m.call, m.credit);
        return;
      case RpcKind.Credit: {
        const served = this.servedStreams.get(m.id);
        if (served === undefined) return;
        served.credit += m.credit;
        served.wake?.();
        return;
      }
      case RpcKind.Close: {
        if (this.openingStreams.has(m.id)) this.openingStreams.set(m.id, true);
        const served = this.servedStreams.get(m.id);
        if (served === undefined) return;
        served.closedByCaller = true;
        served.subscription.close('closed');
        served.wake?.();
        return;
      }
    }
  }

  // ---- serving -------------------------------------------------------------------------------------------------

  private serveCall(id: number, call: StoreCall, timeoutMs: number): void {
    if (this.handler === undefined) {
      this.enqueue({ k: RpcKind.Error, id, error: new UnavailableError('this node serves no calls', { delivered: false }).toWire() });
      return;
    }
    const served = new ServedCall(timeoutMs);
    this.servedCalls.set(id, served);
    this.handler.call(call, served).then(
      (result) => {
        if (this.servedCalls.delete(id)) this.answer(id, result ?? null);
      },
      (err: unknown) => {
        if (this.servedCalls.delete(id)) this.enqueue({ k: RpcKind.Error, id, error: toGaterError(err).toWire() });
      },
    );
  }

  private async serveStream(id: number, call: StoreStreamCall, initialCredit: number): Promise<void> {
    if (this.handler === undefined) {
      this.enqueue({ k: RpcKind.Error, id, error: new UnavailableError('this node serves no streams', { delivered: false }).toWire() });
      return;
    }
    const controller = new AbortController();
    let subscription: EventSubscription;
    this.openingStreams.set(id, false);
    try {
      subscription = await this.handler.open(call, { signal: controller.signal });
    } catch (err) {
      this.openingStreams.delete(id);
      this.enqueue({ k: RpcKind.Error, id, error: toGaterError(err).toWire() });
      return;
    }
    const abandoned = this.openingStreams.get(id) === true;
    this.openingStreams.delete(id);
    if (this.closed || abandoned) {
      subscription.close(this.closed ? 'unavailable' : 'closed');
      return;
    }
    const served: ServedStream = { subscription, credit: initialCredit, wake: undefined, closedByCaller: false };
    this.servedStreams.set(id, served);
    this.enqueue({ k: RpcKind.Result, id, result: { id: subscription.id } });
    const iterator = subscription[Symbol.asyncIterator]();
    try {
      for (;;) {
        while (served.credit === 0 && !served.closedByCaller && !this.closed) {
          await new Promise<void>((resolve) => (served.wake = resolve));
          served.wake = undefined;
        }
        if (served.closedByCaller || this.closed) break;
        const next = await iterator.next();
        if (next.done === true) break;
        served.credit--;
        const frame = encodeMessage({ k: RpcKind.Deliver, id, delivery: next.value });
        if (frame.byteLength > this.maxFrameBytes) {
          // An event too large to relay ends its stream with an error the consumer sees, never the connection.
          throw new InvalidArgumentError(
            'event',
            `at position ${next.value.event.position} is ${frame.byteLength} bytes encoded, over the limit of ` +
              `${this.maxFrameBytes} bytes for a delivery relayed from another node`,
          );
        }
        this.enqueueFrame(frame);
      }
      if (!served.closedByCaller && !this.closed) {
        this.enqueue({ k: RpcKind.End, id, reason: await subscription.ended });
      }
    } catch (err) {
      const error = toGaterError(err);
      this.enqueue({ k: RpcKind.End, id, reason: 'error', error: error.toWire() });
    } finally {
      subscription.close('closed');
      this.servedStreams.delete(id);
    }
  }

  // ---- endings -------------------------------------------------------------------------------------------------

  /** Timer callback of `call` (one function per connection rather than a closure per call). */
  private readonly callTimedOut = (id: number, op: string, timeoutMs: number): void => {
    this.giveUp(id, new TimeoutError(`${op} at ${this.peer}`, timeoutMs));
  };

  private giveUp(id: number, error: GaterError): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    if (entry.sent) this.enqueue({ k: RpcKind.Cancel, id });
    else this.takeBack(entry);
    entry.reject(error);
  }

  /**
   * Takes a request the caller gave up on out of the outbox (it waits there while the channel drains): sent later,
   * it would run at the peer after the caller was told it did not, or was cancelled.
   */
  private takeBack(entry: PendingCall): void {
    const frame = entry.frame;
    entry.frame = undefined;
    if (frame !== undefined) {
      const at = this.outbox.indexOf(frame);
      if (at >= 0) this.outbox.splice(at, 1);
    }
    const queued = this.unsent.indexOf(entry);
    if (queued >= 0) this.unsent.splice(queued, 1);
  }

  private lostError(sent: boolean): GaterError {
    return new UnavailableError(`connection to ${this.peer} lost`, sent ? { peer: this.peer } : { peer: this.peer, delivered: false });
  }

  private shutdown(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const [, entry] of this.pending) entry.reject(this.lostError(entry.sent));
    this.pending.clear();
    this.unsent.length = 0;
    for (const stream of this.openStreams.values()) stream.finish('unavailable');
    this.openStreams.clear();
    for (const served of this.servedCalls.values()) served.cancel();
    this.servedCalls.clear();
    for (const served of this.servedStreams.values()) {
      served.subscription.close('unavailable');
      served.wake?.();
    }
    this.outbox = [];
    for (const listener of this.closeListeners.splice(0)) listener(err);
  }
}

/** The error of a call its caller cancelled; `delivered: false` when the request never left this node. */
function cancelled(sent: boolean): GaterError {
  return new UnavailableError('the call was cancelled', sent ? {} : { delivered: false });
}
