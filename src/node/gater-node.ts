/**
 * The composition root: the one place that knows every component. It builds them in dependency order (stores,
 * workers, registry, gateway, HTTP), starts them, and stops them in reverse order.
 */
import type { Logger } from 'pino';
import { TimeoutError } from '../errors/index.ts';
import type { GaterConfig } from '../config/index.ts';
import { Gateway } from '../gateway/gateway.ts';
import { raceDeadline } from '../gateway/deadline.ts';
import { RegistryDirectory } from '../gateway/worker-directory.ts';
import { LocalWorkerEndpoint, type WorkerEndpoint } from '../gateway/worker-endpoint.ts';
import { createHttpServer, type HealthReport, type HttpServer } from '../http/index.ts';
import { remoteEndpointFactory } from '../gateway/remote-worker-endpoint.ts';
import { ClusterMetrics, GaterMetrics } from '../metrics/index.ts';
import { WorkerRegistry } from '../registry/index.ts';
import type { GatewayWorker } from '../worker/gateway-worker.ts';
import { LocalWorkers } from '../worker/local-workers.ts';
import { ClusterLink, type ClusterSettings } from './cluster-link.ts';
import { DataDirLock } from './data-dir-lock.ts';
import { HostedStore } from './hosted-store.ts';
import { loadNodeIdentity, type NodeIdentity } from './node-identity.ts';

/**
 * Milliseconds a stopping node waits for the calls its workers are executing (relayed from peers included) to finish
 * and be answered, before it closes its connections anyway. Calls end by their own deadlines (5 s by default); this
 * bounds the wait for a call given a long one, well inside the CLI's stop timeout (30 s).
 */
export const DRAIN_TIMEOUT_MS = 10_000;
const DRAIN_POLL_MS = 20;
/**
 * Milliseconds a scrape waits for one store's subscription lag: well inside Prometheus' default scrape timeout (10 s),
 * whatever the number of stores, since they are read at once.
 */
const LAG_REFRESH_TIMEOUT_MS = 1_000;

/** The part of the configuration the node itself reads (GaterConfig satisfies it). */
export type NodeSettings = ClusterSettings &
  Pick<
    GaterConfig,
    'dataDir' | 'stores' | 'storeBackend' | 'gatewayPoolSize' | 'sqliteSynchronous' | 'httpHost' | 'httpPort' | 'callTimeoutMs'
  > &
  Partial<Pick<GaterConfig, 'pgUrl'>>;


export interface RunningNode {
  readonly nodeId: string;
  readonly httpUrl: string;
  readonly api: Gateway;
  stop(): Promise<void>;
}

export class GaterNode implements RunningNode {
  private readonly settings: NodeSettings;
  private readonly logger: Logger;
  private identity: NodeIdentity | undefined;
  private dataDirLock: DataDirLock | undefined;
  private starting: Promise<void> | undefined;
  private readonly hosted = new Map<string, HostedStore>();
  /** Subscription names with a lag series, by store: those gone since the last scrape have theirs removed. */
  private readonly lagSeries = new Map<string, Set<string>>();
  private readonly metrics = new GaterMetrics();
  private registry: WorkerRegistry | undefined;
  private cluster: ClusterLink | undefined;
  private gateway: Gateway | undefined;
  private http: HttpServer | undefined;
  private url = '';
  private startedAt = '';
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(settings: NodeSettings, logger: Logger) {
    this.settings = settings;
    this.logger = logger;
  }

  get nodeId(): string {
    return this.identity?.nodeId ?? '';
  }

  get httpUrl(): string {
    return this.url;
  }

  get api(): Gateway {
    if (this.gateway === undefined) throw new Error('the node is not started');
    return this.gateway;
  }

  start(): Promise<void> {
    if (this.state !== 'new') return this.starting ?? Promise.resolve();
    this.state = 'starting';
    this.starting = this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    const s = this.settings;
    try {
      this.dataDirLock = DataDirLock.acquire(s.dataDir);
      this.identity = await loadNodeIdentity(s.dataDir);
      const { nodeId } = this.identity;
      const log = this.logger.child({ nodeId });
      this.startedAt = new Date().toISOString();

      const registry = new WorkerRegistry(
        { logger: log.child({ component: 'registry' }) },
        { nodeId, incarnation: this.identity.incarnation },
      );
      this.registry = registry;
      const localWorkers = new LocalWorkers();
      const cluster = new ClusterLink(
        { registry, localWorkers, logger: log },
        { settings: s, privateKey: this.identity.privateKey, incarnation: this.identity.incarnation, stores: s.stores },
      );
      this.cluster = cluster;
      await cluster.mesh.start();
      const localEndpoints = new Map<string, WorkerEndpoint>();
      for (const storeId of s.stores) {
        const hosted = await HostedStore.open(
          {
            storeId,
            dataDir: s.dataDir,
            backend: s.storeBackend,
            sqliteSynchronous: s.sqliteSynchronous,
            pgUrl: s.pgUrl,
            callTimeoutMs: s.callTimeoutMs,
            gatewayPoolSize: s.gatewayPoolSize,
            nodeId,
          },
          log,
        );
        this.hosted.set(storeId, hosted);
        for (const worker of hosted.workers) {
          localEndpoints.set(worker.workerId, new LocalWorkerEndpoint(worker, nodeId));
          localWorkers.add(worker);
          registry.registerLocal({
            store: storeId,
            workerId: worker.workerId,
            addrs: cluster.mesh.addrs(),
            backend: worker.backend,
            startedAt: worker.startedAt,
          });
        }
      }
      this.gateway = new Gateway(
        {
          directory: new RegistryDirectory({
            registry,
            localEndpoints,
            remoteEndpoint: remoteEndpointFactory(cluster.rpcPeers, registry),
          }),
          metrics: this.metrics,
          logger: log.child({ component: 'gateway' }),
        },
        { callTimeoutMs: s.callTimeoutMs },
      );
      this.http = createHttpServer(
        {
          api: this.gateway,
          metrics: this.metrics,
          logger: log.child({ component: 'http' }),
          health: () => this.health(),
          cluster: () => this.clusterView(),
        },
        { host: s.httpHost, port: s.httpPort, callTimeoutMs: s.callTimeoutMs },
      );
      this.url = await this.http.listen();
      await cluster.start();
      this.watchCluster(cluster, registry);
      // Lag is read when Prometheus scrapes, not on a timer: no work while nobody asks.
      this.metrics.addCollector(() => this.refreshLag());
      this.state = 'running';
      log.info({ httpUrl: this.url, stores: s.stores, name: s.nodeName }, 'gater node started');
    } catch (err) {
      await this.shutDown();
      throw err;
    }
  }

  /**
   * Stops the node. Asked while it is starting, it lets the start finish first: a start carried on after a stop had
   * released the data directory's lock would serve without it, with stores nobody closes.
   */
  async stop(): Promise<void> {
    if (this.state === 'starting') await this.starting?.catch(() => {});
    await this.shutDown();
  }

  private async shutDown(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    // Peers stop sending calls here: the workers leave the registry, and a call that still reaches one is refused as
    // not delivered, so its gateway tries another worker. Calls under way, this node's and those relayed from peers,
    // finish and are answered before the connections to the peers close: cut, a written append would be reported
    // lost, and a caller retrying it would write it twice.
    const workers = [...this.hosted.values()].flatMap((hosted) => hosted.workers);
    for (const worker of workers) {
      this.registry?.unregisterLocal(worker.workerId);
      worker.stop();
    }
    await this.http?.close().catch((err: unknown) => this.logger.error({ err }, 'closing the HTTP server failed'));
    await this.callsFinished(workers);
    await this.cluster?.stop();
    for (const [storeId, hosted] of this.hosted) {
      await hosted.close().catch((err: unknown) => this.logger.error({ err, store: storeId }, 'closing a store failed'));
    }
    this.hosted.clear();
    this.dataDirLock?.release();
    this.dataDirLock = undefined;
    this.state = 'stopped';
    this.logger.info('gater node stopped');
  }

  /** Waits until no worker executes a call, for DRAIN_TIMEOUT_MS at most (calls end by their own deadlines anyway). */
  private async callsFinished(workers: readonly GatewayWorker[]): Promise<void> {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (workers.some((w) => w.inFlight > 0)) {
      if (Date.now() >= deadline) {
        this.logger.warn({ inFlight: workers.reduce((n, w) => n + w.inFlight, 0) }, 'calls still running at stop; closing anyway');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    // Their answers leave with the next write to each peer; let it happen before the connections close.
    await new Promise((resolve) => setImmediate(resolve));
  }

  private health(): HealthReport {
    const running = this.state === 'running';
    const checks: HealthReport['checks'] = { node: { ok: running, detail: this.state } };
    const conflicts = this.registry?.conflicts() ?? [];
    checks['registry'] = conflicts.length === 0
      ? { ok: true }
      : { ok: false, detail: `store conflict: ${conflicts.map((c) => c.store).join(', ')}` };
    for (const storeId of this.settings.stores) {
      const health = this.hosted.get(storeId)?.store.health() ?? { ok: false, detail: 'not open' };
      checks[`store:${storeId}`] = health.detail === undefined ? { ok: health.ok } : { ok: health.ok, detail: health.detail };
    }
    return { live: this.state !== 'stopped', ready: running && Object.values(checks).every((c) => c.ok), checks };
  }

  private clusterView(): unknown {
    const identity = this.identity;
    return {
      self: {
        nodeId: identity?.nodeId,
        name: this.settings.nodeName,
        incarnation: identity?.incarnation,
        startedAt: this.startedAt,
        httpUrl: this.url,
        stores: [...this.settings.stores],
        state: this.state,
      },
      peers: (this.cluster?.peers() ?? []).map((p) => ({
        nodeId: p.nodeId,
        name: p.name,
        addrs: p.addrs,
        state: p.state,
        lastSeen: p.lastSeen,
        incarnation: p.incarnation,
        roles: p.roles,
        stores: p.stores,
        endpoint: p.endpoint,
        connected: this.cluster?.mesh.isConnected(p.nodeId) ?? false,
      })),
      registry: {
        entries: this.registry?.entries() ?? [],
        conflicts: this.registry?.conflicts() ?? [],
        nodes: this.registry?.digest() ?? [],
      },
      mesh: { addrs: this.cluster?.mesh.addrs() ?? [], connections: this.cluster?.mesh.connectedPeers().length ?? 0 },
    };
  }

  /** Feeds cluster state to the metrics before each scrape. */
  private watchCluster(cluster: ClusterLink, registry: WorkerRegistry): void {
    const clusterMetrics = new ClusterMetrics(this.metrics.registry);
    this.metrics.addCollector(() => {
      const stats = cluster.discovery.stats();
      const mesh = cluster.mesh.stats();
      const sync = cluster.registrySync.stats();
      const peers: Record<string, number> = {};
      for (const p of cluster.peers()) peers[p.state] = (peers[p.state] ?? 0) + 1;
      clusterMetrics.observe({
        beaconsSent: stats.beaconsSent,
        beaconsReceived: stats.beaconsReceived,
        probesSent: stats.probesSent,
        acksReceived: stats.acksReceived,
        dropped: { ...stats.dropped },
        peers,
        meshConnections: cluster.mesh.connectedPeers().length,
        meshInboundRefused: mesh.inboundRefused,
        meshInboundUpgrading: mesh.inboundUpgrading,
        registryWorkers: registry.entries().length,
        registryConflicts: registry.conflicts().length,
        registryMessagesDropped: sync.dropped,
        registryRecordsHeld: sync.held,
        registryUnconfirmedDropped: sync.unconfirmedDropped,
      });
    });
  }

  /**
   * Reads every store's subscription lag for a scrape: the stores at once, each for LAG_REFRESH_TIMEOUT_MS at most,
   * so that a store that cannot answer (its database down) leaves its last figures rather than holding the scrape
   * past Prometheus' own timeout, with every other metric. Series of subscriptions gone since are removed.
   */
  private async refreshLag(): Promise<void> {
    await Promise.all(
      [...this.hosted].map(async ([storeId, hosted]) => {
        try {
          const [stats, subscriptions] = await raceDeadline(
            Promise.all([hosted.store.stats(), hosted.store.listSubscriptions()]),
            Date.now() + LAG_REFRESH_TIMEOUT_MS,
            () => new TimeoutError(`reading the subscription lag of store '${storeId}'`, LAG_REFRESH_TIMEOUT_MS),
          );
          const names = new Set<string>();
          for (const sub of subscriptions) {
            names.add(sub.name);
            this.metrics.subscriptionLag.set({ store: storeId, subscription: sub.name }, Math.max(0, stats.lastPosition - sub.checkpoint));
          }
          for (const name of this.lagSeries.get(storeId) ?? []) {
            if (!names.has(name)) this.metrics.subscriptionLag.remove({ store: storeId, subscription: name });
          }
          this.lagSeries.set(storeId, names);
        } catch (err) {
          // The last figures stay.
          this.logger.debug({ err, store: storeId }, 'subscription lag refresh failed');
        }
      }),
    );
  }
}

/** Builds and starts a node; the CLI's `gater start` calls this. */
export async function startNode(settings: NodeSettings, logger: Logger): Promise<RunningNode> {
  const node = new GaterNode(settings, logger);
  await node.start();
  return node;
}
