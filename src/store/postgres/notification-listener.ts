/**
 * LISTEN on the store's channel, on a connection of its own. `append_batch` notifies at every commit with the last
 * position written; the listener turns that into a wake-up for live readers on this node. A notification is a hint,
 * never data: readers read the store from where they are. While the connection is down, notifications are lost, so
 * every reconnect is itself a hint (and the subscription engine also polls the head now and then).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { type ConnectionUpkeep, ReconnectingClient } from './reconnecting-client.ts';
import { quoteIdent } from './schema.ts';

export interface NotificationListenerInit {
  config: pg.ClientConfig;
  /** The channel: the store's schema name. */
  channel: string;
  upkeep: ConnectionUpkeep;
  /** A commit happened up to `lastPosition`, or (undefined) something may have been committed. */
  onHint: (lastPosition: number | undefined) => void;
}

export class NotificationListener {
  readonly #client: ReconnectingClient;

  constructor(components: { logger: Logger }, init: NotificationListenerInit) {
    const channel = init.channel;
    this.#client = new ReconnectingClient(components, {
      ...init.upkeep,
      config: init.config,
      purpose: 'notifications',
      setup: async (client) => {
        client.on('notification', (message) => {
          if (message.channel !== channel) return;
          const position = Number(message.payload);
          init.onHint(Number.isSafeInteger(position) ? position : undefined);
        });
        await client.query(`LISTEN ${quoteIdent(channel)}`);
      },
      onLost: () => this.#client.keepConnected(),
      onRestored: () => init.onHint(undefined),
    });
  }

  /** Whether the connection is up now (it is kept up always, so this tells whether the server can be reached). */
  get connected(): boolean {
    return this.#client.current !== undefined;
  }

  /** Connects; rejects when the server cannot be reached. */
  async start(): Promise<void> {
    await this.#client.connection();
  }

  stop(): Promise<void> {
    return this.#client.stop();
  }
}
