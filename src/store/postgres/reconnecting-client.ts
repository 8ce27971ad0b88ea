/**
 * One dedicated connection that comes back by itself: connected at start, reconnected with exponential backoff
 * whenever it fails or the server restarts, until stopped. The notification listener and the lease holder each keep
 * one, because what they hold (a LISTEN, session advisory locks) lives on a single connection.
 */
import pg from 'pg';
import type { Logger } from 'pino';

export interface ReconnectingClientInit {
  config: pg.ClientConfig;
  /** What the connection is for, in log lines. */
  purpose: string;
  minDelayMs: number;
  maxDelayMs: number;
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
    if (this.#everConnected) {
      this.#logger.info({ purpose: this.#init.purpose }, 'database connection restored');
      this.#init.onRestored?.();
    }
    this.#everConnected = true;
    return client;
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
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
