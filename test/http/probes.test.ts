/**
 * Health probes, Prometheus metrics and the cluster view: on a real node (its own HTTP server, sharing its metrics
 * with its gateway) and on our server with health reports chosen by the test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { HealthReport } from '../../src/http/index.ts';
import { fetchRequest, startHarness, TRANSPORTS, type Harness, type Request } from './harness.ts';

describe('a real node: metrics after calls, probes, cluster', () => {
  let h: Harness;
  let node: Request;

  before(async () => {
    h = await startHarness();
    node = fetchRequest(h.node.url);
  });
  after(() => h.close());

  test('/metrics counts calls, errors, appended events, durations and HTTP requests', async () => {
    const path = '/v1/stores/default/streams/metered/events';
    for (let i = 0; i < 3; i++) assert.equal((await node('POST', path, { json: { events: [{ eventType: 'A' }, { eventType: 'B' }] } })).status, 200);
    assert.equal((await node('POST', path, { json: { events: [{ eventType: 'A' }], expectedVersion: 0 } })).status, 409);
    assert.equal((await node('GET', `${path}?count=2`)).status, 200);
    assert.equal((await node('GET', `${path}?count=0`)).status, 400);
    assert.equal((await node('GET', '/v1/stores/default/streams/a%ZZ/version')).status, 400);
    assert.equal((await node('GET', `/v1/stores/default/streams/${'x'.repeat(4700)}/version`)).status, 414);

    const res = await node('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
    const value = (series: string) => {
      const line = res.text.split('\n').find((l) => l.startsWith(`${series} `));
      assert.ok(line !== undefined, `${series} in\n${res.text.slice(0, 3000)}`);
      return Number(line.slice(series.length + 1));
    };
    assert.equal(value('gater_calls_total{op="append",store="default",outcome="ok"}'), 3);
    assert.equal(value('gater_calls_total{op="append",store="default",outcome="wrong_expected_version"}'), 1);
    assert.equal(value('gater_errors_total{code="wrong_expected_version"}'), 1);
    assert.equal(value('gater_appended_events_total{store="default"}'), 6);
    assert.equal(value('gater_calls_total{op="readStream",store="default",outcome="ok"}'), 1);
    assert.equal(value('gater_call_duration_seconds_count{op="append"}'), 4);
    assert.equal(value('gater_call_duration_seconds_bucket{le="+Inf",op="append"}'), 4);
    const route = 'POST /v1/stores/:store/streams/:stream/events';
    assert.equal(value(`gater_http_requests_total{route="${route}",status="200"}`), 3);
    assert.equal(value(`gater_http_requests_total{route="${route}",status="409"}`), 1);
    assert.equal(value('gater_http_requests_total{route="GET /v1/stores/:store/streams/:stream/events",status="400"}'), 1);
    // Paths the router refuses match no route, yet are counted.
    assert.equal(value('gater_http_requests_total{route="unmatched",status="400"}'), 1);
    assert.equal(value('gater_http_requests_total{route="unmatched",status="414"}'), 1);
    // The refused read never reached the gateway.
    assert.ok(!res.text.includes('outcome="invalid_argument"'));
    // Process metrics are on by default, under the same prefix.
    assert.match(res.text, /^gater_process_cpu_seconds_total /m);
  });

  test('liveness and readiness of a running node', async () => {
    const live = await node('GET', '/health/live');
    assert.equal(live.status, 200);
    assert.deepEqual(live.body, { live: true });
    const ready = await node('GET', '/health/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.ready, true);
    assert.equal(ready.body.checks['store:default'].ok, true);
  });

  test('/v1/cluster is the view the composition root builds', async () => {
    const res = await node('GET', '/v1/cluster');
    assert.equal(res.status, 200);
    assert.equal(res.body.self.nodeId, h.node.node.nodeId);
    assert.ok(Array.isArray(res.body.peers));
  });
});

for (const transport of TRANSPORTS) {
  describe(`probes report what the node says (${transport})`, () => {
    let h: Harness;
    let req: Request;
    let report: HealthReport = { live: true, ready: true, checks: {} };
    const cluster = { self: { nodeId: 'n-1', name: 'one' }, peers: [{ nodeId: 'n-2', state: 'suspect' }], registry: {} };

    before(async () => {
      h = await startHarness({ health: () => report, cluster: () => cluster });
      req = h.request[transport];
    });
    after(() => h.close());

    test('not ready is 503 with the report; not live is 503', async () => {
      report = { live: true, ready: false, checks: { 'store:default': { ok: false, detail: 'opening' } } };
      const ready = await req('GET', '/health/ready');
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, report);
      assert.equal((await req('GET', '/health/live')).status, 200);

      report = { live: false, ready: false, checks: {} };
      const live = await req('GET', '/health/live');
      assert.equal(live.status, 503);
      assert.deepEqual(live.body, { live: false });

      report = { live: true, ready: true, checks: {} };
      assert.equal((await req('GET', '/health/ready')).status, 200);
    });

    test('/v1/cluster answers the cluster body as given', async () => {
      const res = await req('GET', '/v1/cluster');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, cluster);
    });
  });
}
