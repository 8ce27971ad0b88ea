/**
 * A node serving two PostgreSQL stores whose database goes silent (a relay between them drops every packet, as a
 * broken network does): readiness says so per store, `/metrics` still answers within a scrape timeout, and both come
 * back with the database. Lag series of a removed subscription go away.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { TestCluster, waitFor } from '../support/gater-process.ts';
import { startTestPostgres } from '../support/postgres.ts';
import { TcpRelay } from '../support/tcp-relay.ts';

const server = await startTestPostgres();
if ('skip' in server) {
  test('a node whose PostgreSQL goes silent', { skip: server.skip }, () => {});
} else {
  describe('a node whose PostgreSQL goes silent', () => {
    const cluster = new TestCluster();
    const node = cluster.add('pg', { stores: ['one', 'two'], env: {} });
    let relay: TcpRelay;

    before(async () => {
      const url = await server.createDatabase();
      relay = await TcpRelay.start(server.port);
      Object.assign(node.options.env!, {
        GATER_STORE_BACKEND: 'postgres',
        GATER_PG_URL: url.replace(`:${server.port}/`, `:${relay.port}/`),
      });
      await cluster.startAll();
    });
    after(async () => {
      await cluster.close();
      await relay.close();
      await server.stop();
    });

    const metrics = async (): Promise<string> =>
      (await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();

    it('removes the lag series of a subscription once it is removed', async () => {
      const saved = await node.json('/v1/stores/one/subscriptions/sub', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'by_stream', selector: '$all' }),
      });
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      assert.match(await metrics(), /gater_subscription_lag_events\{store="one",subscription="sub"\}/);
      assert.equal((await node.json('/v1/stores/one/subscriptions/sub', { method: 'DELETE' })).status, 204);
      // Before: the last figure of a subscription that no longer exists was exported for ever.
      assert.doesNotMatch(await metrics(), /subscription="sub"/);
    });

    it('is not ready while its database cannot be reached, and /metrics still answers within a scrape timeout', async () => {
      relay.silence();
      // Before: each store was ready as long as it was open.
      await waitFor('the node to report both stores unready', async () => {
        const { status, body } = await node.json<{ checks: Record<string, { ok: boolean }> }>('/health/ready');
        return status === 503 && body.checks['store:one']?.ok === false && body.checks['store:two']?.ok === false;
      }, 20_000, 200);
      // Before: the scrape read each store's lag in turn, waiting out each one's query timeout (7 s): 14 s for two.
      const text = await metrics();
      assert.match(text, /gater_calls_total|gater_http_requests_total/);

      relay.cut(); // the silent connections end; new ones go through again
      relay.resume();
      await waitFor('the node to be ready again', async () => (await node.json('/health/ready')).status === 200, 30_000, 200);
    });
  });
}
