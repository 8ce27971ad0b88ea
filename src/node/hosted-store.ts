/**
 * One store this node hosts: the store engine, its subscription hub and its pool of gateway workers.
 */
import type { Logger } from 'pino';
import type { EventStore } from '../store/event-store.ts';
import { PostgresEventStore } from '../store/postgres/postgres-event-store.ts';
import { SqliteEventStore } from '../store/sqlite/sqlite-event-store.ts';
import { SubscriptionHub } from '../store/subscriptions/index.ts';
import { GatewayWorker } from '../worker/gateway-worker.ts';

export interface HostedStoreSettings {
  storeId: string;
  dataDir: string;
  backend: 'sqlite' | 'postgres';
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** PostgreSQL connection URL; required when `backend` is postgres. */
  pgUrl?: string | undefined;
  /** The node's call deadline: a PostgreSQL statement running longer has no caller left. */
  callTimeoutMs?: number;
  gatewayPoolSize: number;
  nodeId: string;
}

export class HostedStore {
  readonly store: EventStore;
  readonly hub: SubscriptionHub;
  readonly workers: GatewayWorker[] = [];

  private constructor(store: EventStore, hub: SubscriptionHub, workers: GatewayWorker[]) {
    this.store = store;
    this.hub = hub;
    this.workers = workers;
  }

  static async open(settings: HostedStoreSettings, logger: Logger): Promise<HostedStore> {
    const storeLogger = logger.child({ component: 'store', store: settings.storeId });
    let store: EventStore;
    if (settings.backend === 'postgres') {
      if (settings.pgUrl === undefined) throw new Error('the postgres store backend needs pgUrl');
      store = new PostgresEventStore(
        { logger: storeLogger },
        {
          storeId: settings.storeId,
          url: settings.pgUrl,
          // Which node holds which connections, in pg_stat_activity.
          applicationName: `gater:${settings.storeId}@${settings.nodeId}`,
          ...(settings.callTimeoutMs === undefined ? {} : { statementTimeoutMs: settings.callTimeoutMs }),
        },
      );
    } else {
      store = new SqliteEventStore(
        { logger: storeLogger },
        { storeId: settings.storeId, dataDir: settings.dataDir, synchronous: settings.sqliteSynchronous },
      );
    }
    await store.open();
    const hub = new SubscriptionHub({ store, logger: logger.child({ component: 'subscriptions', store: settings.storeId }) });
    const workers: GatewayWorker[] = [];
    for (let i = 0; i < settings.gatewayPoolSize; i++) {
      workers.push(
        new GatewayWorker(
          { store, hub, logger: logger.child({ component: 'worker', store: settings.storeId }) },
          { workerId: `${settings.storeId}@${settings.nodeId}#${i}` },
        ),
      );
    }
    return new HostedStore(store, hub, workers);
  }

  async close(): Promise<void> {
    for (const worker of this.workers) worker.stop();
    await this.hub.close();
    await this.store.close();
  }
}
