/**
 * One dedicated connection that comes back by itself: connected at start, reconnected with exponential backoff
 * whenever it fails or the server restarts, until stopped. The notification listener and the lease holder each keep
 * one, because what they hold (a LISTEN, session advisory locks) lives on a single connection.
 *
 * A connection can also die silently: a firewall or a broken route drops its packets and neither end is told. The
 * server finds out by its keepalive probes and ends the session (releasing its locks); this side finds out by a
 * heartbeat query that gets no answer in time while nothing else comes either, and then drops the connection as lost.
 * The heartbeat must be the quicker of the two, so that a node has stopped delivering a subscription before another
 * node can take its lease.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { EventEmitter } from 'node:events';
import { inputDeadline, type InputDeadline } from '../../util/input-deadline.ts';

/** How a dedicated connection is kept up. */
export interface ConnectionUpkeep {
  /** First delay before reconnecting; doubles up to `maxDelayMs`. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Milliseconds between heartbeat queries while connected. */
  heartbeatIntervalMs: number;
  /** Milliseconds a heartbeat may wait for its answer before the connection counts as lost. */
  heartbeatTimeoutMs: number;
}

export interface ReconnectingClientInit extends ConnectionUpkeep {
  config: pg.ClientConfig;
  /** What the connection is for, in log lines. */
  purpose: string;
  /** Runs on every new connection before it is handed out (LISTEN, session settings). */
  setup?: (client: pg.Client) => Promise<void>;
  /** Called when a connection that was up is lost. */
  onLost?: () => void;
  /** Called when a connection is up again after a loss (not on the first connect). */
  onRestored?: () => void;
}

export class ReconnectingClient {
  readonly #logger: Logger;
  readonly #init: ReconnectingClientInit;
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Per connection, the last work handed to `serial`, settled or not. */
  readonly #tails = new WeakMap<pg.Client, Promise<unknown>>();
  #delayMs: number;
  #everConnected = false;
  #stopped = false;

  constructor(components: { logger: Logger }, init: ReconnectingClientInit) {
    this.#logger = components.logger;
    this.#init = init;
    this.#delayMs = init.minDelayMs;
  }

  /** The live connection, if there is one right now. */
  get current(): pg.Client | undefined {
    return this.#client;
  }

  /** The live connection, connecting first when there is none. Rejects when the server cannot be reached. */
  connection(): Promise<pg.Client> {
    if (this.#stopped) return Promise.reject(new Error(`${this.#init.purpose} connection is closed`));
    if (this.#client !== undefined) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /**
   * Runs `work` (queries on `client`) after the work handed in for that connection before it has settled: the driver
   * queues a query given while another runs, but warns that pg 9 will refuse it.
   */
  serial<T>(client: pg.Client, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(client) ?? Promise.resolve();
    const result = previous.then(work);
    this.#tails.set(client, result.catch(() => {}));
    return result;
  }

  /** Keeps trying to connect in the background until it succeeds (for connections that must always be up). */
  keepConnected(): void {
    if (this.#stopped || this.#client !== undefined || this.#timer !== undefined) return;
    this.connection().catch((err: unknown) => {
      this.#logger.debug({ err, purpose: this.#init.purpose }, 'connecting failed; retrying');
      this.#retryLater();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopHeartbeat();
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client(this.#init.config);
    // Errors after connecting arrive here (and 'end' follows); the connection is then replaced.
    client.on('error', (err) => this.#logger.debug({ err, purpose: this.#init.purpose }, 'connection error'));
    try {
      await client.connect();
      await this.#init.setup?.(client);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#stopped) {
      await client.end().catch(() => {});
      throw new Error(`${this.#init.purpose} connection is closed`);
    }
    client.once('end', () => this.#lost(client));
    this.#client = client;
    this.#delayMs = this.#init.minDelayMs;
    this.#startHeartbeat(client);
    if (this.#everConnected) {
      this.#logger.info({ purpose: this.#init.purpose }, 'database connection restored');
      this.#init.onRestored?.();
    }
    this.#everConnected = true;
    return client;
  }

  #startHeartbeat(client: pg.Client): void {
    this.#stopHeartbeat();
    const timeoutMs = this.#init.heartbeatTimeoutMs;
    // Any message from the server proves the connection alive: a heartbeat queued behind a burst of other queries
    // (leases asked for by many subscribers at once) waits for their answers, which keep coming.
    let lastInputAt = performance.now();
    (client as unknown as { connection?: EventEmitter }).connection?.on('message', () => {
      lastInputAt = performance.now();
    });
    let inFlight = false;
    this.#heartbeat = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      const sentAt = performance.now();
      // Not the driver's query_timeout: a stall of this process would trip it with the answer waiting unread.
      let silence: InputDeadline;
      const onQuiet = (): void => {
        const heardAgoMs = performance.now() - Math.max(lastInputAt, sentAt);
        if (heardAgoMs < timeoutMs) silence = inputDeadline(timeoutMs - heardAgoMs, onQuiet);
        else this.#silent(client);
      };
      silence = inputDeadline(timeoutMs, onQuiet);
      this.serial(client, () => client.query('SELECT 1'))
        .catch(() => {}) // a failed connection ends, and 'end' reports it
        .finally(() => {
          inFlight = false;
          silence.cancel();
        });
    }, this.#init.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  /** The heartbeat went unanswered: the connection is dropped as lost. */
  #silent(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#logger.warn({ purpose: this.#init.purpose }, 'database connection silent; dropping it');
    this.#lost(client);
    // The unanswered heartbeat is still the active query, so end() destroys the socket rather than waiting for a
    // goodbye that cannot arrive.
    client.end().catch(() => {});
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#stopHeartbeat();
    if (this.#stopped) return;
    this.#logger.warn({ purpose: this.#init.purpose }, 'database connection lost');
    this.#init.onLost?.();
  }

  #retryLater(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const delayMs = this.#delayMs;
    this.#delayMs = Math.min(this.#init.maxDelayMs, this.#delayMs * 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.keepConnected();
    }, delayMs);
    this.#timer.unref();
  }
}
