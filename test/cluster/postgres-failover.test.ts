/**
 * Two worker nodes serve one PostgreSQL-backed store and a third node is a pure gateway. Under load through the
 * gateway node, one worker node is SIGKILLed: reads and appends carrying event ids see no error (the gateway retries
 * them on the other node within the deadline), and every acknowledged event is stored exactly once.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it, test } from 'node:test';
import pg from 'pg';
import { TestCluster, waitFor } from '../support/gater-process.ts';
import { startTestPostgres } from '../support/postgres.ts';

const server = await startTestPostgres();
if ('skip' in server) {
  test('a postgres store on two worker nodes', { skip: server.skip }, () => {});
} else {
  describe('a postgres store on two worker nodes', () => {
    const cluster = new TestCluster();
    let url = '';
    const pgEnv = () => ({ GATER_STORE_BACKEND: 'postgres', GATER_PG_URL: url });
    const nodes = { a: cluster.add('a', { stores: ['shared'], env: {} }), b: cluster.add('b', { stores: ['shared'] }) };
    const gateway = cluster.add('gw', { stores: [] });

    before(async () => {
      url = await server.createDatabase();
      Object.assign(nodes.a.options.env!, pgEnv());
      nodes.b.options.env = pgEnv();
      await cluster.startAll();
      await cluster.formed();
    });
    after(async () => {
      await cluster.close();
      await server.stop();
    });

    it('is announced by both nodes without a conflict, and every node can reach it', async () => {
      await waitFor('the gateway to see two postgres workers on two nodes', async () => {
        const { body } = await gateway.json<{ stores: { store: string; workers: { nodeId: string; backend: string }[] }[] }>('/v1/stores');
        const workers = body.stores.find((s) => s.store === 'shared')?.workers ?? [];
        return new Set(workers.map((w) => w.nodeId)).size === 2 && workers.every((w) => w.backend === 'postgres');
      });
      for (const node of [nodes.a, nodes.b, gateway]) {
        const { status } = await node.json('/health/ready');
        assert.equal(status, 200, `${node.name} is ready (no store conflict)`);
      }
    });

    it('SIGKILL of one worker node under load: no client error, every acknowledged event stored once', async () => {
      const acknowledged = new Map<string, { stream: string }>();
      const errors: string[] = [];
      let reads = 0;
      let stop = false;
      const deadline = Date.now() + 30_000;
      const client = async (c: number) => {
        for (let i = 0; !stop && Date.now() < deadline && i < 400; i++) {
          const stream = `load-${c}`;
          const events = Array.from({ length: 1 + (i % 3) }, (_, k) => ({
            eventId: randomUUID(),
            eventType: 'reading:v1',
            data: { c, i, k },
          }));
          const res = await gateway.post(`/v1/stores/shared/streams/${stream}/events`, { events }).catch((err: Error) => ({
            status: 0,
            body: err.message,
          }));
          if (res.status === 200) for (const e of events) acknowledged.set(e.eventId, { stream });
          else errors.push(`append ${res.status} ${JSON.stringify(res.body)}`);
          const read = await gateway.json(`/v1/stores/shared/streams/${stream}/events?from=0&count=5`).catch((err: Error) => ({
            status: 0,
            body: err.message,
          }));
          if (read.status === 200) reads++;
          else errors.push(`read ${read.status} ${JSON.stringify(read.body)}`);
        }
      };
      const clients = Array.from({ length: 6 }, (_, c) => client(c));
      await waitFor('some load before the kill', () => acknowledged.size >= 150, 20_000, 20);
      // The gateway spreads calls over both nodes: each has opened pool connections beside its listener's.
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        for (const node of [nodes.a, nodes.b]) {
          const { body } = await node.json<{ self: { nodeId: string } }>('/v1/cluster');
          await waitFor(`${node.name} to serve calls`, async () => {
            const { rows } = await db.query<{ n: number }>(
              'SELECT count(*)::integer AS n FROM pg_stat_activity WHERE application_name = left($1, 63)',
              [`gater:shared@${body.self.nodeId}`],
            );
            return rows[0]!.n >= 2;
          }, 10_000, 50);
        }
      } finally {
        await db.end();
      }
      await nodes.a.kill('SIGKILL');
      const afterKill = acknowledged.size;
      await waitFor('load to go on after the kill', () => acknowledged.size >= afterKill + 300, 25_000, 50);
      stop = true;
      await Promise.all(clients);
      assert.deepEqual(errors, [], 'no client saw an error');
      assert.ok(reads > 0);

      // Everything, read back through the surviving node: each acknowledged id once, and nothing else.
      const stored: { eventId: string; streamId: string }[] = [];
      for (let from = 0; ; ) {
        const { body } = await nodes.b.json<{ events: { eventId: string; streamId: string }[]; scannedTo: number }>(
          `/v1/stores/shared/all?from=${from}&count=1000`,
        );
        stored.push(...body.events);
        if (body.events.length < 1000) break;
        from = body.scannedTo + 1;
      }
      const ids = stored.map((e) => e.eventId);
      assert.equal(new Set(ids).size, ids.length, 'no event stored twice');
      for (const [id, { stream }] of acknowledged) {
        assert.ok(ids.includes(id), `acknowledged event ${id} of ${stream} is stored`);
      }
      assert.equal(stored.length, acknowledged.size, 'nothing stored that was not acknowledged');
    });

    it('a relayed append still waiting for its batch when its caller times out is never written', async () => {
      // Node b alone serves the store (a is gone, killed by the test before; killed here when this test runs alone).
      if (nodes.a.running) await nodes.a.kill('SIGKILL');
      const { body } = await nodes.b.json<{ self: { nodeId: string } }>('/v1/cluster');
      await waitFor('the gateway to see only node b serve the store', async () => {
        const { body: stores } = await gateway.json<{ stores: { store: string; workers: { nodeId: string }[] }[] }>('/v1/stores');
        const workers = stores.stores.find((s) => s.store === 'shared')?.workers ?? [];
        return workers.length > 0 && workers.every((w) => w.nodeId === body.self.nodeId);
      }, 20_000, 50);
      // The store's lock held here: node b's two batch slots fill with blockers, and what comes next waits in its queue.
      const app = `gater:shared@${body.self.nodeId}`.slice(0, 63);
      const db = new pg.Client({ connectionString: url });
      const watcher = new pg.Client({ connectionString: url });
      await db.connect();
      await watcher.connect();
      const append = (stream: string, headers: Record<string, string> = {}) =>
        gateway.json(`/v1/stores/shared/streams/${stream}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ events: [{ eventType: 'E', data: {} }] }),
        });
      try {
        await db.query('BEGIN');
        await db.query('SELECT next_position FROM gater_shared.store_head FOR UPDATE');
        const blockers = [];
        for (let i = 0; i < 2; i++) {
          blockers.push(append(`blocker-${i}`, { 'x-gater-deadline-ms': '20000' }));
          await waitFor(`batch ${i + 1} of b to wait for the lock`, async () => {
            // Asked outside the lock's transaction: inside it, pg_stat_activity is a snapshot of its first read.
            const { rows } = await watcher.query<{ n: number }>(
              "SELECT count(*)::integer AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
              [app],
            );
            return rows[0]!.n === i + 1;
          }, 10_000, 20);
        }
        const late = await Promise.all(
          Array.from({ length: 6 }, (_, i) => append(`timed-out-${i}`, { 'x-gater-deadline-ms': '300' })),
        );
        assert.deepEqual(late.map((r) => r.status), Array(6).fill(504), 'every caller was told timeout');
        await db.query('COMMIT');
        assert.deepEqual((await Promise.all(blockers)).map((r) => r.status), [200, 200]);
      } finally {
        await db.end();
        await watcher.end();
      }
      // b writes what its queue holds as soon as a slot frees: a new append after them proves they are gone.
      assert.equal((await append('after')).status, 200);
      for (let i = 0; i < 6; i++) {
        const { body: version } = await nodes.b.json<{ version: number }>(`/v1/stores/shared/streams/timed-out-${i}/version`);
        assert.equal(version.version, -1, `timed-out-${i} was not written`);
      }
    });
  });
}
