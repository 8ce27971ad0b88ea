/**
 * The call metrics recorded on the hot path render exactly what prom-client's own metrics would for the same calls.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { CALL_DURATION_BUCKETS_S, GaterMetrics } from '../../src/metrics/index.ts';
import { TalliedHistogram } from '../../src/metrics/tallied-histogram.ts';

/** Durations (seconds) on, between, below and above the bounds, including label values that need escaping. */
const OBSERVATIONS: ReadonlyArray<[string, number]> = [
  ['append', 0.0001], ['append', 0.0005], ['append', 0.0007], ['append', 0.003], ['append', 7],
  ['readStream', 0.01], ['readStream', 0.25], ['readStream', 0.2500001], ['we"ird\\op\nx', 1],
];

describe('call metrics', () => {
  it('a tallied histogram renders byte for byte what a prom-client histogram renders', async () => {
    const mine = new Registry();
    const theirs = new Registry();
    const tallied = new TalliedHistogram({ name: 'h_seconds', help: 'help text', labelName: 'op', buckets: CALL_DURATION_BUCKETS_S, registers: [mine] });
    const reference = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: ['op'], buckets: CALL_DURATION_BUCKETS_S, registers: [theirs] });
    assert.equal(await mine.metrics(), await theirs.metrics(), 'empty');
    for (const [op, v] of OBSERVATIONS) {
      tallied.observe(op, v);
      reference.observe({ op }, v);
    }
    const rendered = await mine.metrics();
    assert.equal(rendered, await theirs.metrics());
    assert.match(rendered, /^h_seconds_bucket\{le="0.0005",op="append"\} 2$/m);
    assert.match(rendered, /^h_seconds_count\{op="append"\} 5$/m);
    tallied.reset();
    reference.reset();
    assert.equal(await mine.metrics(), await theirs.metrics(), 'after reset');
  });

  it('counts calls by op, store and outcome across scrapes, like prom-client counters', async () => {
    const metrics = new GaterMetrics({ collectDefaultMetrics: false });
    const reference = new Registry();
    const calls = new Counter({ name: 'gater_calls_total', help: 'x', labelNames: ['op', 'store', 'outcome'], registers: [reference] });
    const record = (op: string, store: string, outcome: 'ok' | 'timeout') => {
      metrics.recordCall(op, store, outcome, 1);
      calls.inc({ op, store, outcome });
    };
    const series = (text: string) => text.split('\n').filter((l) => l.startsWith('gater_calls_total{')).sort();
    record('append', 'a', 'ok');
    record('append', 'a', 'ok');
    record('append', 'b', 'timeout');
    assert.deepEqual(series(await metrics.render()), series(await reference.metrics()));
    record('append', 'a', 'ok');
    record('readStream', 'a', 'ok');
    const second = series(await metrics.render());
    assert.deepEqual(second, series(await reference.metrics()));
    assert.ok(second.includes('gater_calls_total{op="append",store="a",outcome="ok"} 3'), second.join('\n'));
    // A scrape with nothing new changes nothing.
    assert.deepEqual(series(await metrics.render()), second);
    assert.match(await metrics.render(), /^gater_errors_total\{code="timeout"\} 1$/m);
  });
});
