import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/run-cli.ts';
import { harness, runBin } from './cli-harness.ts';

const NOW = Date.parse('2026-11-23T10:00:00.000Z');
const SELF_ID = '12D3KooWSelfSelfSelfSelfSelfSelfSelfSelfSelfSelf01';
const PEER2_ID = '12D3KooWPeerTwoPeerTwoPeerTwoPeerTwoPeerTwoPeer02';
const PEER3_ID = '12D3KooWPeerThreePeerThreePeerThreePeerThreeP03';

const CLUSTER = {
  self: {
    nodeId: SELF_ID,
    name: 'n1',
    incarnation: 4,
    startedAt: '2026-11-23T09:55:00.000Z',
    httpUrl: 'http://127.0.0.1:4001',
    stores: ['alpha'],
    state: 'running',
  },
  peers: [
    { nodeId: PEER3_ID, name: 'n3', addrs: ['/ip4/10.0.0.3/tcp/45893'], state: 'suspect', lastSeen: NOW - 4_200, incarnation: 2, connected: false },
    {
      nodeId: PEER2_ID,
      name: 'n2',
      addrs: ['/ip4/10.0.0.2/tcp/45893', '/ip4/172.17.0.2/tcp/45893'],
      state: 'alive',
      lastSeen: '2026-11-23T09:59:59.500Z',
      incarnation: 7,
      connected: true,
    },
  ],
  registry: { entries: [], conflicts: [{ store: 'beta', nodeIds: [PEER2_ID, 'unknown-node'] }] },
};

const READY = { ready: false, checks: { node: { ok: true, detail: 'running' }, registry: { ok: false, detail: 'store conflict: beta' }, 'store:alpha': { ok: true } } };

const STORES = {
  stores: [
    {
      store: 'beta',
      workers: [
        { nodeId: PEER2_ID, workerId: 'beta-w1', backend: 'sqlite' },
        { nodeId: 'unknown-node', workerId: 'beta-w2', backend: 'sqlite' },
      ],
    },
    { store: 'alpha', workers: [{ nodeId: SELF_ID, workerId: 'alpha-w1', backend: 'sqlite' }] },
    { store: 'gamma', workers: [] },
  ],
};

/** A node's HTTP API as far as `status` reads it, with canned bodies; `/v1/stores` can be told to fail or hang. */
let mode: 'ok' | 'error' | 'hang' = 'ok';
let server: Server;
let url: string;
before(async () => {
  server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/v1/cluster') return reply(200, CLUSTER);
    if (req.url === '/health/ready') return reply(503, READY);
    if (req.url === '/v1/stores' && mode === 'ok') return reply(200, STORES);
    if (req.url === '/v1/stores' && mode === 'error') return reply(503, { error: { code: 'unavailable', message: 'registry not ready' } });
    if (req.url === '/v1/stores' && mode === 'hang') return; // never answers
    reply(404, { error: { code: 'not_found', message: `${req.url} not found` } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function status(args: string[], env: Record<string, string> = {}) {
  const h = harness(env);
  const code = await runCli(['status', ...args], h.io, {});
  return { code, stdout: h.stdout(), stderr: h.stderr() };
}

describe('gater status', () => {
  it('renders this node and its readiness, its peers and the stores with their workers as tables', async () => {
    mode = 'ok';
    const h = harness();
    const { runStatus } = await import('../../src/cli/status-command.ts');
    const code = await runStatus(['--url', url], h.io, () => NOW);
    assert.equal(code, 0, h.stderr());
    assert.equal(h.stderr(), '');
    assert.equal(
      h.stdout(),
      [
        'This node',
        '  name         n1',
        `  node id      ${SELF_ID}`,
        '  state        running',
        '  ready        NO - registry (store conflict: beta)',
        '  incarnation  4',
        '  started at   5m ago',
        '  http url     http://127.0.0.1:4001',
        '  stores       alpha',
        '',
        'Peers (2)',
        '  NAME  NODE ID          STATE    CONNECTED  LAST SEEN  INCARNATION  ADDRS',
        '  n2    12D3KooW…Peer02  alive    yes        0.5s ago   7            /ip4/10.0.0.2/tcp/45893, /ip4/172.17.0.2/tcp/45893',
        '  n3    12D3KooW…reeP03  suspect  no         4.2s ago   2            /ip4/10.0.0.3/tcp/45893',
        '',
        'Stores (3)',
        '  STORE  STATUS                    WORKER    NODE          BACKEND',
        '  alpha  serving                   alpha-w1  n1            sqlite',
        '  beta   CONFLICT - calls refused  beta-w1   n2            sqlite',
        '                                   beta-w2   unknown-node  sqlite',
        '  gamma  no workers',
        '',
      ].join('\n'),
    );
  });

  it('prints the combined JSON with --json', async () => {
    mode = 'ok';
    const { code, stdout, stderr } = await status(['--url', url, '--json']);
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), { cluster: CLUSTER, stores: STORES.stores, ready: READY });
  });

  it('says clearly when no node answers, and exits 1', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { code, stdout, stderr } = await status(['--url', `http://127.0.0.1:${port}`]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(stderr, `gater status: cannot reach a gater node at http://127.0.0.1:${port} (connection refused); is it running? --url names another\n`);
  });

  it('with --json prints a failure as one JSON object on stdout, with the same exit codes', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await status(['--url', `http://127.0.0.1:${port}`, '--json']);
    assert.equal(unreachable.code, 1);
    assert.equal(unreachable.stderr, '');
    assert.deepEqual(JSON.parse(unreachable.stdout), {
      error: { code: 'unavailable', message: `cannot reach a gater node at http://127.0.0.1:${port} (connection refused); is it running? --url names another` },
    });
    mode = 'error';
    const refused = await status(['--url', url, '--json']);
    assert.equal(refused.code, 1);
    assert.deepEqual(JSON.parse(refused.stdout), { error: { code: 'unavailable', message: `GET ${url}/v1/stores answered 503: unavailable registry not ready` } });
    mode = 'hang';
    const slow = await status(['--url', url, '--json', '--timeout-ms', '200']);
    assert.equal(slow.code, 1);
    assert.equal((JSON.parse(slow.stdout) as { error: { code: string } }).error.code, 'timeout');
    const usage = await status(['--json', '--timeout-ms', '0', '--url', url]);
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr, '');
    assert.deepEqual(JSON.parse(usage.stdout), { error: { code: 'invalid_argument', message: '--timeout-ms must be an integer from 1 to 600000 (got "0")' } });
  });

  it('reports an error answer with its code, and exits 1', async () => {
    mode = 'error';
    const { code, stdout, stderr } = await status(['--url', `${url}/`]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.equal(stderr, `gater status: GET ${url}/v1/stores answered 503: unavailable registry not ready\n`);
  });

  it('gives up on a node that does not answer within --timeout-ms', async () => {
    mode = 'hang';
    const { code, stderr } = await status(['--url', url, '--timeout-ms', '200']);
    assert.equal(code, 1);
    assert.match(stderr, /no answer within 200 ms/);
  });

  it('refuses unknown flags and bad values with exit 2', async () => {
    const unknown = await status(['--jsn']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'gater status: --jsn is not a known flag (did you mean --json?)\n');
    const badUrl = await status(['--url', 'localhost:4001', '--timeout-ms', 'soon']);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /--url must be an http:\/\/ or https:\/\/ URL \(got "localhost:4001"\); --timeout-ms must be an integer from 1 to 600000 \(got "soon"\)/);
  });

  it('refuses a --timeout-ms beyond its maximum (600000) or not in decimal digits as a usage error, not an unreachable node', async () => {
    mode = 'ok';
    for (const value of ['99999999999', '600001', '1e3', '0']) {
      const { code, stdout, stderr } = await status(['--url', url, '--timeout-ms', value]);
      assert.equal(code, 2, stderr);
      assert.equal(stdout, '');
      assert.equal(stderr, `gater status: --timeout-ms must be an integer from 1 to 600000 (got "${value}")\n`);
    }
    const longest = await status(['--url', url, '--timeout-ms', '600000']);
    assert.equal(longest.code, 0, longest.stderr);
  });

  it('without --url asks the node GATER_HTTP_HOST and GATER_HTTP_PORT configure, on loopback for a wildcard host', async () => {
    mode = 'ok';
    const port = new URL(url).port;
    const hosts: Record<string, string>[] = [{}, { GATER_HTTP_HOST: '127.0.0.1' }, { GATER_HTTP_HOST: '0.0.0.0' }, { GATER_HTTP_HOST: '' }];
    for (const host of hosts) {
      const { code, stderr } = await status(['--json'], { GATER_HTTP_PORT: port, ...host });
      assert.equal(code, 0, `${JSON.stringify(host)}: ${stderr}`);
    }
  });

  it('refuses a GATER_HTTP_PORT or GATER_HTTP_HOST the node would refuse, naming it, instead of asking port 4001', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ GATER_HTTP_PORT: 'abc' }, 'GATER_HTTP_PORT must be an integer from 0 to 65535 (got "abc")'],
      [{ GATER_HTTP_PORT: '65536' }, 'GATER_HTTP_PORT must be an integer from 0 to 65535 (got "65536")'],
      [{ GATER_HTTP_PORT: '0' }, 'GATER_HTTP_PORT is 0 (any free port), so the port of the node is not known: give --url'],
      [{ GATER_HTTP_HOST: 'not a host' }, 'GATER_HTTP_HOST must be an IP address or a host name (got "not a host")'],
    ];
    for (const [env, message] of cases) {
      const { code, stdout, stderr } = await status([], env);
      assert.equal(code, 2, JSON.stringify(env));
      assert.equal(stdout, '');
      assert.equal(stderr, `gater status: ${message}\n`);
    }
    // --url makes the variables irrelevant.
    mode = 'ok';
    assert.equal((await status(['--url', url], { GATER_HTTP_PORT: 'abc' })).code, 0);
  });

  it('works through bin/gater.js as a real process', async () => {
    mode = 'ok';
    const table = await runBin(['status', '--url', url]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^This node\n {2}name {9}n1\n/);
    assert.match(table.stdout, /\n {2}n2 +12D3KooW…Peer02 +alive +yes +\S.* +7 +\/ip4\/10.0.0.2\/tcp\/45893, /);
    const json = await runBin(['status', '--url', url, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { cluster: CLUSTER, stores: STORES.stores, ready: READY });
  });
});
