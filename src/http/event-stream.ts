/**
 * Server-sent events: a subscription written to an HTTP response. Each delivery is one SSE message whose id is the
 * event's global position (so an EventSource resumes with `Last-Event-ID`), sent as soon as it arrives. The
 * subscription is pulled only as fast as the socket drains, so a slow client slows its own subscription and nothing
 * else. A client that goes away closes the subscription; a subscription that ends ends the response.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Delivery, EventSubscription } from '../store/subscriptions/types.ts';
import type { GaterMetrics } from '../metrics/index.ts';
import { errorReply } from './error-reply.ts';
import { routeLabel } from './route-label.ts';

/** Interval of the keep-alive comment that stops proxies and clients from timing an idle stream out. */
export const HEARTBEAT_INTERVAL_MS = 15_000;

/**
 * How long a stream may wait for a client that reads nothing (its socket buffer full) before it is cut: such a client
 * holds a subscription and a socket for nothing. A client that reads slowly but reads is never cut.
 */
export const STALL_TIMEOUT_MS = 60_000;

/** How long closing the server lets open streams finish writing before their connections are cut. */
export const CLOSE_GRACE_MS = 1_000;

export interface EventStreamsComponents {
  logger?: Logger;
  metrics?: GaterMetrics;
}

export interface EventStreamsInit {
  /** Milliseconds between keep-alive comments on an idle stream. @default 15000 */
  heartbeatIntervalMs?: number;
  /** Milliseconds a stream waits for a client that reads nothing before cutting it. @default 60000 */
  stallTimeoutMs?: number;
  /** Milliseconds `closeAll` lets streams end by themselves before cutting their connections. @default 1000 */
  closeGraceMs?: number;
}

interface OpenStream {
  res: ServerResponse;
  /** Settles when the stream is over. */
  done: Promise<void>;
}

/** The open event streams of one HTTP server, so that closing the server can end them. */
export class EventStreams {
  private readonly logger: Logger;
  private readonly metrics: GaterMetrics | undefined;
  private readonly heartbeatIntervalMs: number;
  private readonly stallTimeoutMs: number;
  private readonly closeGraceMs: number;
  /** Open streams, by subscription. */
  private readonly open = new Map<EventSubscription, OpenStream>();
  /** Aborted by `closeAll`: a stream waiting for its client to drain stops waiting. */
  private readonly closing = new AbortController();
  private readonly streaming = new WeakSet<FastifyRequest>();

  constructor(components: EventStreamsComponents = {}, init: EventStreamsInit = {}) {
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.metrics = components.metrics;
    this.heartbeatIntervalMs = init.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
    this.stallTimeoutMs = init.stallTimeoutMs ?? STALL_TIMEOUT_MS;
    this.closeGraceMs = init.closeGraceMs ?? CLOSE_GRACE_MS;
  }

  get size(): number {
    return this.open.size;
  }

  /** Whether the request is answered by an event stream (its response never goes through Fastify's send). */
  isStreaming(request: FastifyRequest): boolean {
    return this.streaming.has(request);
  }

  /**
   * Takes the response over from Fastify and writes the subscription's deliveries to it until either side ends.
   * Resolves when the stream is over; never rejects.
   */
  serve(request: FastifyRequest, reply: FastifyReply, subscription: EventSubscription): Promise<void> {
    this.streaming.add(request);
    // Opened after closing began (its open call was still running): it ends at once, as the others did.
    if (this.closing.signal.aborted) subscription.close('server closing');
    const done = this.pump(request, reply, subscription);
    this.open.set(subscription, { res: reply.raw, done });
    return done;
  }

  /**
   * Ends every open stream (their subscriptions end, so do the responses); resolves once all have ended. A stream
   * whose client reads nothing cannot flush its end: after the grace its connection is cut, so that closing the
   * server never waits on a client.
   */
  async closeAll(reason: string): Promise<void> {
    const ending = [...this.open.entries()];
    this.closing.abort();
    for (const [subscription] of ending) subscription.close(reason);
    const all = Promise.all(ending.map(([, stream]) => stream.done));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, this.closeGraceMs, 'late')));
    const outcome = await Promise.race([all, grace]);
    clearTimeout(timer);
    if (outcome !== 'late') return;
    for (const [, stream] of ending) if (!stream.res.destroyed) stream.res.destroy();
    await all;
  }

  private async pump(request: FastifyRequest, reply: FastifyReply, subscription: EventSubscription): Promise<void> {
    reply.hijack();
    const res = reply.raw;
    const log = this.logger.child({ reqId: request.id, subscription: subscription.id });
    const onClose = (): void => subscription.close('client disconnected');
    res.on('close', onClose);
    // The client may have left while the subscription was being opened; then no 'close' is coming.
    if (res.destroyed || res.socket === null || res.socket.destroyed) subscription.close('client disconnected');
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Once the server is closing, the connection ends with the stream: idle, it would hold the close open.
      connection: this.closing.signal.aborted ? 'close' : 'keep-alive',
      // Tells nginx-like proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    // A first comment sends the headers now: once the client sees them, the subscription is in place.
    res.write(`: subscribed ${subscription.id}\n\n`);
    const heartbeat = setInterval(() => {
      if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
    }, this.heartbeatIntervalMs);
    heartbeat.unref();
    // Counted once, as it opens: a stream never reaches Fastify's onResponse, and has no final status to wait for.
    this.metrics?.recordHttpRequest(routeLabel(request), 200);
    this.metrics?.httpEventStreams.inc();
    log.debug('event stream opened');
    try {
      let cut = false;
      for await (const delivery of subscription) {
        if (res.destroyed || (!res.write(formatDelivery(delivery)) && !(await this.drained(res, log)))) {
          cut = true;
          break;
        }
      }
      // The subscription ended on its side (replaced by a newer session, removed, its lease lost, the server
      // closing): say why, so that a client does not reconnect to take back a session another consumer now holds.
      // (An iterator that stopped without ending its subscription is ended here, so `ended` is always settled.)
      if (!cut && !res.destroyed) {
        subscription.close('closed');
        res.write(formatEnd(await subscription.ended));
      }
    } catch (err) {
      const { body, error } = errorReply(err);
      log.warn({ err, code: error.code }, 'event stream failed');
      if (!res.destroyed) res.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
    } finally {
      clearInterval(heartbeat);
      res.off('close', onClose);
      subscription.close('event stream ended');
      this.open.delete(subscription);
      this.metrics?.httpEventStreams.dec();
      // Waiting for the end to flush leaves the connection idle, so a closing server can drop it at once.
      if (!res.destroyed && !res.writableEnded) await endResponse(res);
      log.debug('event stream closed');
    }
  }

  /**
   * Resolves true once the response can take more; false if it closes first, the server is closing, or the client
   * has read nothing for the stall timeout (the response is then cut).
   */
  private drained(res: ServerResponse, log: Logger): Promise<boolean> {
    if (this.closing.signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      let settled = false;
      const done = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        res.off('drain', onDrain);
        res.off('close', onClose);
        this.closing.signal.removeEventListener('abort', onClosing);
        resolve(ok);
      };
      const onDrain = (): void => done(true);
      const onClose = (): void => done(false);
      const onClosing = (): void => done(false);
      const timer = setTimeout(() => {
        log.warn({ stallTimeoutMs: this.stallTimeoutMs }, 'event stream client reads nothing; cutting it');
        res.destroy();
        done(false);
      }, this.stallTimeoutMs);
      timer.unref();
      res.on('drain', onDrain);
      res.on('close', onClose);
      this.closing.signal.addEventListener('abort', onClosing, { once: true });
    });
  }
}

/** One SSE message: `id` is the global position, `data` the JSON of `{ event, attempt }`. */
export function formatDelivery(delivery: Delivery): string {
  return `id: ${delivery.event.position}\nevent: event\ndata: ${JSON.stringify({ event: delivery.event, attempt: delivery.attempt })}\n\n`;
}

/** The last SSE message of a stream its subscription ended: `data` is `{ reason }` (EndReason). */
export function formatEnd(reason: string): string {
  return `event: end\ndata: ${JSON.stringify({ reason })}\n\n`;
}

/** Ends the response; resolves once it is flushed or the connection is gone. */
function endResponse(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('close', done);
      resolve();
    };
    res.once('close', done);
    res.end(done);
  });
}
