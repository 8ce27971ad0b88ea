/**
 * One store this node hosts: the store engine, its subscription hub and its pool of gateway workers.
 */
import type { Logger } from 'pino';
import type { EventStore } from '../store/event-store.ts';
import { SqliteEventStore } from '../store/sqlite/sqlite-event-store.ts';
import { SubscriptionHub } from '../store/subscriptions/index.ts';
import { GatewayWorker } from '../worker/gateway-worker.ts';

export interface HostedStoreSettings {
  storeId: string;
  dataDir: string;
  backend: 'sqlite' | 'postgres';
  sqliteSynchronous: 'FULL' | 'NORMAL';
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
    if (settings.backend !== 'sqlite') {
      throw new Error(`store backend '${settings.backend}' is not available in this build`);
    }
    const store = new SqliteEventStore(
      { logger: logger.child({ component: 'store', store: settings.storeId }) },
      { storeId: settings.storeId, dataDir: settings.dataDir, synchronous: settings.sqliteSynchronous },
    );
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
