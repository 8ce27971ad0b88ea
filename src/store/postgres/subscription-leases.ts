/**
 * Leases of persistent subscriptions across nodes: a node delivers a subscription only while it holds that
 * subscription's session-level advisory lock, on a connection dedicated to leases. PostgreSQL releases the lock when
 * the connection ends, so a node that dies (its connection closes, or the server's keepalive probes go unanswered)
 * loses its leases and another node can take over, from the durable checkpoint. A node cut off from the server
 * without being told drops its leases itself when the connection's heartbeat goes unanswered, before the server's
 * probes give up on it (HEARTBEAT_* against CONNECTION_KEEPALIVE_* in constants.ts).
 */
import type { Logger } from 'pino';
import type pg from 'pg';
import type { SubscriptionLease } from '../event-store.ts';
import { type ConnectionUpkeep, ReconnectingClient } from './reconnecting-client.ts';

export interface SubscriptionLeasesInit {
  config: pg.ClientConfig;
  /** The store's schema name: leases of different stores never meet. */
  schemaName: string;
  upkeep: ConnectionUpkeep;
}

interface HeldLease {
  lost: PromiseWithResolvers<void>;
  released: boolean;
}

export class SubscriptionLeases {
  readonly #logger: Logger;
  readonly #schemaName: string;
  readonly #client: ReconnectingClient;
  readonly #held = new Set<HeldLease>();

  constructor(components: { logger: Logger }, init: SubscriptionLeasesInit) {
    this.#logger = components.logger;
    this.#schemaName = init.schemaName;
    this.#client = new ReconnectingClient(components, {
      ...init.upkeep,
      config: init.config,
      purpose: 'subscription leases',
      // The server notices a vanished node by the keepalive probes every connection asks for (clientConfig), and
      // then ends its session and its locks; this node notices a silent connection by its heartbeat, sooner.
      onLost: () => this.#loseAll(),
    });
  }

  /**
   * The lease of subscription `name`, or undefined when another node holds it. Rejects when the database cannot be
   * reached. Leases are reentrant within a node: each one returned must be released once.
   */
  async acquire(name: string): Promise<SubscriptionLease | undefined> {
    const client = await this.#client.connection();
    const result = await this.#client.serial(client, () =>
      client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [this.#key(name)]),
    );
    if (result.rows[0]?.ok !== true) return undefined;
    const held: HeldLease = { lost: Promise.withResolvers<void>(), released: false };
    this.#held.add(held);
    return {
      lost: held.lost.promise,
      release: async () => {
        if (held.released) return;
        held.released = true;
        if (!this.#held.delete(held)) return; // lost already: nothing is held
        held.lost.resolve();
        const current = this.#client.current;
        if (current !== client) return; // that connection is gone, and its locks with it
        await this.#client
          .serial(client, () => client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.#key(name)]))
          .catch((err: unknown) => this.#logger.debug({ err, subscription: name }, 'releasing a lease failed'));
      },
    };
  }

  async stop(): Promise<void> {
    this.#loseAll();
    await this.#client.stop();
  }

  #key(name: string): string {
    return `gater.subscription:${this.#schemaName}:${name}`;
  }

  #loseAll(): void {
    for (const held of this.#held) held.lost.resolve();
    this.#held.clear();
  }
}
