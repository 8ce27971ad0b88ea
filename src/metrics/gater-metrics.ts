/**
 * The node's Prometheus metrics. One `GaterMetrics` per node, wrapping its own prom-client `Registry` (never the global
 * one, so several nodes in one process, as in tests, never mix their figures). Every metric is named `gater_*`.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ErrorCode } from '../errors/index.ts';
import { TalliedHistogram } from './tallied-histogram.ts';

/**
 * Buckets of `gater_call_duration_seconds`: from half a millisecond (a local read) to five seconds (the default call
 * deadline), roughly ×2–2.5 apart.
 */
export const CALL_DURATION_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface GaterMetricsInit {
  /** Also export the process metrics of prom-client (CPU, memory, event loop lag, GC) with the `gater_` prefix. @default true */
  collectDefaultMetrics?: boolean;
}

export class GaterMetrics {
  readonly registry: Registry;

  /**
   * `gater_calls_total{op,store,outcome}`: store calls made through the gateway, by outcome (`ok` or an error code).
   * Calls to a store no worker serves count under `store="_unknown"` (the gateway's UNKNOWN_STORE_LABEL).
   */
  readonly calls: Counter<'op' | 'store' | 'outcome'>;
  /** `gater_call_duration_seconds{op}`: time from the call entering the gateway to its result, retries included. */
  readonly callDuration: TalliedHistogram<'op'>;
  /** `gater_errors_total{code}`: failed calls by error code. */
  readonly errors: Counter<'code'>;
  /** `gater_appended_events_total{store}`: events in successful appends (idempotent replays included). */
  readonly appendedEvents: Counter<'store'>;
  /**
   * `gater_subscription_lag_events{store,subscription}`: events between a persistent subscription's checkpoint and the
   * store's last position. Set by collectors (see `addCollector`), not by the call path.
   */
  readonly subscriptionLag: Gauge<'store' | 'subscription'>;
  /** `gater_http_requests_total{route,status}`: HTTP requests answered, by route pattern (`GET /v1/stores/:store`) and status. */
  readonly httpRequests: Counter<'route' | 'status'>;

  /** `gater_http_event_streams`: server-sent event streams (subscriptions) open right now. */
  readonly httpEventStreams: Gauge;

  private readonly collectors: Array<() => void | Promise<void>> = [];
  /**
   * Calls counted since the last scrape, by op, store and outcome: plain numbers on the call path, added to `calls`
   * when it is collected (prom-client's `inc` hashes its label object on every call).
   */
  private readonly uncountedCalls = new Map<string, Map<string, Map<string, number>>>();

  constructor(init: GaterMetricsInit = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    const uncounted = this.uncountedCalls;
    this.calls = new Counter({
      name: 'gater_calls_total',
      help: 'Store calls through the gateway, by operation, store (_unknown: a store no worker serves) and outcome (ok or an error code).',
      labelNames: ['op', 'store', 'outcome'],
      registers,
      collect() {
        for (const [op, byStore] of uncounted) {
          for (const [store, byOutcome] of byStore) {
            for (const [outcome, n] of byOutcome) if (n > 0) this.inc({ op, store, outcome }, n);
            byOutcome.clear();
          }
        }
      },
    });
    // A reset of the registry also forgets the calls not yet handed over.
    const resetCalls = this.calls.reset.bind(this.calls);
    this.calls.reset = () => {
      uncounted.clear();
      resetCalls();
    };
    this.callDuration = new TalliedHistogram({
      name: 'gater_call_duration_seconds',
      help: 'Duration of store calls through the gateway, retries included.',
      labelName: 'op',
      buckets: CALL_DURATION_BUCKETS_S,
      registers,
    });
    this.errors = new Counter({
      name: 'gater_errors_total',
      help: 'Failed store calls by error code.',
      labelNames: ['code'],
      registers,
    });
    this.appendedEvents = new Counter({
      name: 'gater_appended_events_total',
      help: 'Events in successful appends, by store.',
      labelNames: ['store'],
      registers,
    });
    this.subscriptionLag = new Gauge({
      name: 'gater_subscription_lag_events',
      help: "Events between a persistent subscription's checkpoint and the store's last position.",
      labelNames: ['store', 'subscription'],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'gater_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status code.',
      labelNames: ['route', 'status'],
      registers,
    });
    this.httpEventStreams = new Gauge({
      name: 'gater_http_event_streams',
      help: 'Server-sent event streams (subscriptions) open right now.',
      registers,
    });
    if (init.collectDefaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'gater_' });
  }

  /** The content type of `render()`'s output (the Prometheus text exposition format). */
  get contentType(): string {
    return this.registry.contentType;
  }

  recordCall(op: string, store: string, outcome: 'ok' | ErrorCode, durationMs: number): void {
    let byStore = this.uncountedCalls.get(op);
    if (byStore === undefined) this.uncountedCalls.set(op, (byStore = new Map()));
    let byOutcome = byStore.get(store);
    if (byOutcome === undefined) byStore.set(store, (byOutcome = new Map()));
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    this.callDuration.observe(op, durationMs / 1000);
    if (outcome !== 'ok') this.errors.inc({ code: outcome });
  }

  recordAppended(store: string, events: number): void {
    if (events > 0) this.appendedEvents.inc({ store }, events);
  }

  recordHttpRequest(route: string, status: number): void {
    this.httpRequests.inc({ route, status: String(status) });
  }

  /**
   * Registers a hook run before each scrape (`render()`), to set gauges whose values are cheaper to read on demand than
   * to track (for example `subscriptionLag`). A failing hook is skipped; the scrape still answers.
   */
  addCollector(collect: () => void | Promise<void>): void {
    this.collectors.push(collect);
  }

  /** Runs the collectors, then renders every metric in the Prometheus text format. */
  async render(): Promise<string> {
    await Promise.allSettled(this.collectors.map(async (collect) => collect()));
    return this.registry.metrics();
  }
}
