/**
 * `gater_calls_total{store}` stays bounded whatever store ids clients send: a real node process, real HTTP calls to
 * store ids no worker serves, and its `/metrics` read as Prometheus would. Store ids come from the request path, so a
 * label per id would let anyone who reaches the API grow the node's memory without bound.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UNKNOWN_STORE_LABEL } from '../../src/gateway/gateway.ts';
import { GaterProcess, uniqueCluster } from '../support/gater-process.ts';

const STRANGERS = 60;

describe('the store label of gater_calls_total', () => {
  const node = new GaterProcess({ name: 'labels', cluster: uniqueCluster(), stores: ['default'] });
  before(() => node.start());
  after(() => node.close());

  it('names served stores, and counts calls to any other store id under one fixed label', async () => {
    assert.equal((await node.post('/v1/stores/default/streams/s-1/events', { events: [{ eventType: 'x' }] })).status, 200);
    assert.equal((await node.json('/v1/stores/default/streams/nope', { method: 'DELETE' })).status, 404);
    for (let i = 0; i < STRANGERS; i++) {
      const { status, body } = await node.json<{ error: { code: string } }>(`/v1/stores/nosuch${i}/streams/s/events`);
      assert.equal(status, 503);
      assert.equal(body.error.code, 'no_workers');
    }
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    const series = metrics.split('\n').filter((l) => l.startsWith('gater_calls_total{'));
    const stores = new Set(series.map((l) => /store="([^"]*)"/.exec(l)?.[1]));
    assert.deepEqual([...stores].sort(), [UNKNOWN_STORE_LABEL, 'default'].sort(), series.join('\n'));
    assert.ok(
      series.includes(`gater_calls_total{op="readStream",store="${UNKNOWN_STORE_LABEL}",outcome="no_workers"} ${STRANGERS}`),
      series.join('\n'),
    );
    assert.ok(series.includes('gater_calls_total{op="append",store="default",outcome="ok"} 1'), series.join('\n'));
    // A failed call to a served store keeps the store's own label.
    assert.ok(series.includes('gater_calls_total{op="deleteStream",store="default",outcome="stream_not_found"} 1'), series.join('\n'));
  });
});
