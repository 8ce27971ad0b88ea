/**
 * A Prometheus histogram with one label, recorded with plain arithmetic and rendered by a prom-client registry.
 *
 * prom-client's `Histogram.observe` validates and hashes its label object on every call (about 0.3 µs), which is
 * paid by every store call through the gateway; this records into a preallocated bucket array found by one map
 * lookup. It implements the part of prom-client's metric contract that a `Registry` uses (`name`, `help`, `type`,
 * `aggregator`, `get`, `reset`), and renders exactly what a prom-client histogram would.
 */
import type { Registry } from 'prom-client';

interface Series {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export interface TalliedHistogramInit<Label extends string> {
  name: string;
  help: string;
  labelName: Label;
  /** Upper bounds, ascending. */
  buckets: readonly number[];
  registers: readonly Registry[];
}

interface ValuePair {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  metricName: string;
}

export class TalliedHistogram<Label extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #labelName: Label;
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(init: TalliedHistogramInit<Label>) {
    this.name = init.name;
    this.help = init.help;
    this.#labelName = init.labelName;
    this.#bounds = [...init.buckets];
    for (const registry of init.registers) registry.registerMetric(this as never);
  }

  /** Records one observation; a value that is not a finite number is ignored (it would poison the sum for good). */
  observe(labelValue: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let series = this.#series.get(labelValue);
    if (series === undefined) {
      series = { counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#series.set(labelValue, series);
    }
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  /** The registry's view: cumulative buckets, `+Inf`, sum and count per label value, as prom-client renders them. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: ValuePair[] }> {
    const values: ValuePair[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const [labelValue, series] of this.#series) {
      const sharedLabels = { [this.#labelName]: labelValue };
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push({ value: cumulative, labels: { le: this.#bounds[i]! }, sharedLabels, metricName: bucketName });
      }
      values.push({ value: series.count, labels: { le: '+Inf' }, sharedLabels, metricName: bucketName });
      values.push({ value: series.sum, labels: {}, sharedLabels, metricName: `${this.name}_sum` });
      values.push({ value: series.count, labels: {}, sharedLabels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#series.clear();
  }
}
