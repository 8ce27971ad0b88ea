/**
 * Subscriptions while they open: the caller's AbortSignal cancels an opening (and an aborted one opens nothing, so a
 * live consumer keeps its session), and so does `client.close()`, after which calls fail. A node that holds back its answer is a small HTTP server that never sends the
 * headers of an event stream; the rest runs against a real node.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GaterClient } from '../../src/client/index.ts';
import { TimeoutError } from '../../src/errors/index.ts';
import { waitFor } from '../support/gater-process.ts';
import type { TestApi } from '../support/real-api.ts';
import { take, withRealNodeClient } from './support.ts';

const STORE = 'default';
const CANCELLED = { code: 'unavailable', message: 'the call was cancelled' };
const CLOSED = { code: 'unavailable', message: 'the gater client is closed' };

/** Answers `{}` to plain calls; holds every event stream request without an answer, and says when one goes away. */
class HoldingServer {
  /** Event stream requests received. */
  readonly streams: http.IncomingMessage[] = [];
  /** Event stream requests whose connection the client closed. */
  dropped = 0;
  private readonly server = http.createServer((req, res) => {
    if (req.url!.includes('/events') || req.url!.includes('/observe')) {
      this.streams.push(req);
      res.on('close', () => (this.dropped += 1));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"lastPosition":-1}');
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves once `n` held requests are in. */
  async received(n: number): Promise<void> {
    await waitFor(`${n} event stream requests`, () => this.streams.length >= n, 15_000, 10);
  }

  /** Resolves once the client has dropped `n` held requests. */
  async droppedAtLeast(n: number): Promise<void> {
    await waitFor(`the client to drop ${n} event stream requests`, () => this.dropped >= n, 15_000, 10);
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

/** A HoldingServer for the calling suite, started before its tests (handed to `use` with its URL), closed after. */
function withHoldingServer(use: (holding: HoldingServer, url: string) => void): void {
  const holding = new HoldingServer();
  before(async () => use(holding, await holding.start()));
  after(() => holding.close());
}

describe('a subscription while it opens', () => {
  let holding: HoldingServer;
  let url: string;
  withHoldingServer((h, u) => {
    holding = h;
    url = u;
  });

  it('is cancelled by the caller aborting, its request dropped, before its deadline', async () => {
    const client = new GaterClient({}, { url });
    try {
      const controller = new AbortController();
      const subscribing = client.subscribe(STORE, 'held', { signal: controller.signal, deadlineMs: 3_000 });
      await holding.received(1);
      controller.abort();
      await assert.rejects(subscribing, CANCELLED);
      await holding.droppedAtLeast(1);

      const again = new AbortController();
      const observing = client.observe(STORE, { type: 'by_stream', selector: '$all', startFrom: 0 }, { signal: again.signal, deadlineMs: 3_000 });
      await holding.received(2);
      again.abort();
      await assert.rejects(observing, CANCELLED);
      await holding.droppedAtLeast(2);
    } finally {
      client.close();
    }
  });
});

describe('the deadline of an opening', () => {
  let holding: HoldingServer;
  let url: string;
  withHoldingServer((h, u) => {
    holding = h;
    url = u;
  });

  it('is the deadlineAt of subscribe and observe when one is given', async () => {
    const client = new GaterClient({}, { url });
    try {
      const opens = [
        () => client.subscribe(STORE, 'held', { deadlineAt: Date.now() + 300 }),
        () => client.observe(STORE, { type: 'by_stream', selector: '$all', startFrom: 0 }, { deadlineAt: Date.now() + 300 }),
      ];
      for (const open of opens) {
        const held = holding.streams.length;
        await assert.rejects(open(), (err: unknown) => err instanceof TimeoutError && (err.data['deadlineMs'] as number) <= 300);
        assert.equal(holding.streams.length, held + 1);
        assert.ok(Number(holding.streams.at(-1)!.headers['x-gater-deadline-ms']) <= 300, 'the node was given that deadline');
      }
      await assert.rejects(client.subscribe(STORE, 'held', { deadlineAt: Date.now() - 1 }), { code: 'timeout' });
    } finally {
      client.close();
    }
  });
});

describe('client.close() while subscriptions open', () => {
  let holding: HoldingServer;
  let url: string;
  withHoldingServer((h, u) => {
    holding = h;
    url = u;
  });

  it('cancels the openings, drops their requests, and refuses calls after it', async () => {
    const client = new GaterClient({}, { url });
    const subscribing = client.subscribe(STORE, 'held', { deadlineMs: 3_000 });
    const observing = client.observe(STORE, { type: 'by_stream', selector: '$all', startFrom: 0 }, { deadlineMs: 3_000 });
    await holding.received(2);
    client.close();
    await assert.rejects(subscribing, CLOSED);
    await assert.rejects(observing, CLOSED);
    await holding.droppedAtLeast(2);
    assert.deepEqual(client.subscriptions, []);

    await assert.rejects(client.getStreams(STORE), CLOSED);
    await assert.rejects(client.subscribe(STORE, 'held'), CLOSED);
    await assert.rejects(client.observe(STORE, { type: 'by_stream', selector: '$all', startFrom: 0 }), CLOSED);
    assert.equal(holding.streams.length, 2, 'nothing was opened after close()');
  });
});

describe('a subscription whose signal is aborted before it opens', () => {
  let node: TestApi;
  let client: GaterClient;

  withRealNodeClient((n, c) => {
    node = n;
    client = c;
  });

  it('rejects and opens nothing, so the live consumer keeps its session', async () => {
    await client.appendEvents(STORE, 'work', [{ eventType: 'job:v1', data: { i: 0 } }, { eventType: 'job:v1', data: { i: 1 } }]);
    await client.saveSubscription(STORE, { type: 'by_stream', selector: 'work', name: 'workers', startFrom: 0 });
    const states: string[] = [];
    const live = await client.subscribe(STORE, 'workers', { onStateChange: (state) => states.push(state) });
    const [first] = await take(live, 1);

    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(client.subscribe(STORE, 'workers', { signal: aborted.signal }), CANCELLED);
    await assert.rejects(client.observe(STORE, { type: 'by_stream', selector: '$all' }, { signal: aborted.signal }), CANCELLED);

    await live.ack(first!.event.position);
    const [second] = await take(live, 1);
    await live.ack(second!.event.position);
    assert.deepEqual([first!.event.data, second!.event.data], [{ i: 0 }, { i: 1 }]);
    assert.equal(second!.attempt, 1);
    assert.equal(live.reconnects, 0);
    assert.deepEqual(states, ['open']);
    live.close();
  });
});
