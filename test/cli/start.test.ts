import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/run-cli.ts';
import type { StartNode } from '../../src/cli/start-command.ts';
import type { GaterConfig } from '../../src/config/index.ts';
import { BIN, harness, runBin } from './cli-harness.ts';

const SECRET = 'start-test-secret-0123456789';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gater-start-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A stand-in for the composition root that records what `gater start` does with it. */
function recordingNode(options: { failStart?: Error; stopGate?: Promise<void> } = {}) {
  const calls: string[] = [];
  let config: GaterConfig | undefined;
  const startNode: StartNode = async (c, logger) => {
    config = c;
    calls.push('start');
    logger.info('node says hello');
    if (options.failStart !== undefined) throw options.failStart;
    return {
      httpUrl: 'http://127.0.0.1:1',
      async stop() {
        calls.push('stop');
        await options.stopGate;
      },
    };
  };
  return { startNode, calls, config: () => config };
}

/** Resolves once `predicate` holds, polling; fails after `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('gater start (in-process, with a stand-in node)', () => {
  it('passes the loaded config and the logger, runs until a stop signal, stops once and exits 0', async () => {
    const h = harness({ GATER_NODE_NAME: 'n7', GATER_HTTP_PORT: '0', LOG_LEVEL: 'debug', GATER_CLUSTER_SECRET: SECRET }, dir);
    const node = recordingNode();
    const exit = runCli(['start', '--stores', 'a,b'], h.io, { startNode: node.startNode });
    await until(() => node.calls.includes('start'));
    assert.equal(h.listeners(), 1, 'listening for stop signals while running');
    assert.equal(node.config()?.nodeName, 'n7');
    assert.deepEqual(node.config()?.stores, ['a', 'b']);
    assert.equal(node.config()?.dataDir, join(dir, 'data'));
    h.signal('SIGTERM');
    assert.equal(await exit, 0);
    assert.deepEqual(node.calls, ['start', 'stop']);
    assert.equal(h.listeners(), 0, 'signal handlers are removed');
    assert.deepEqual(h.exits, []);

    const logs = h.logs();
    const hello = logs.find((l) => l['msg'] === 'node says hello');
    assert.equal(hello?.['nodeName'], 'n7', 'the node gets the root logger');
    const configLine = logs.find((l) => l['msg'] === 'configuration');
    assert.equal((configLine?.['config'] as Record<string, unknown>)['clusterSecret'], '[redacted]');
    assert.ok(logs.some((l) => l['msg'] === 'stopping' && l['signal'] === 'SIGTERM' && l['component'] === 'cli'));
    assert.ok(!JSON.stringify(logs).includes(SECRET));
  });

  it('logs the configuration at debug with only the secrets that are set hidden, a list of them as its count', async () => {
    const previous = `${SECRET}-old1,${SECRET}-old2`;
    const cases: [Record<string, string>, Record<string, unknown>][] = [
      [{}, { clusterSecretPrevious: [] }],
      [
        { GATER_CLUSTER_SECRET: SECRET, GATER_CLUSTER_SECRET_PREVIOUS: previous, GATER_STORE_BACKEND: 'postgres', GATER_PG_URL: 'postgres://u:pg-pw-123456@db:5432/g' },
        { clusterSecret: '[redacted]', clusterSecretPrevious: ['[redacted]', '[redacted]'], pgUrl: 'postgres://u:[redacted]@db:5432/g' },
      ],
    ];
    for (const [env, expected] of cases) {
      const h = harness({ GATER_LOG_LEVEL: 'debug', GATER_LOG_FORMAT: 'json', ...env }, dir);
      const node = recordingNode();
      const exit = runCli(['start'], h.io, { startNode: node.startNode });
      await until(() => node.calls.includes('start'));
      h.signal('SIGTERM');
      assert.equal(await exit, 0);
      const config = h.logs().find((l) => l['msg'] === 'configuration')?.['config'] as Record<string, unknown>;
      const secrets = Object.fromEntries(['clusterSecret', 'clusterSecretPrevious', 'pgUrl'].filter((k) => k in config).map((k) => [k, config[k]]));
      assert.deepEqual(secrets, expected);
      assert.ok(!JSON.stringify(h.logs()).includes(SECRET) && !JSON.stringify(h.logs()).includes('pg-pw-123456'));
    }
  });

  it('stops cleanly when the signal comes while the node is still starting', async () => {
    const h = harness({}, dir);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    const exit = runCli(['start'], h.io, {
      startNode: async () => {
        calls.push('start');
        await gate;
        return { httpUrl: '', stop: async () => void calls.push('stop') };
      },
    });
    await until(() => calls.length === 1);
    h.signal('SIGINT');
    release();
    assert.equal(await exit, 0);
    assert.deepEqual(calls, ['start', 'stop']);
  });

  it('exits at once on a second signal while the stop hangs', async () => {
    const h = harness({}, dir);
    let release!: () => void;
    const node = recordingNode({ stopGate: new Promise<void>((resolve) => (release = resolve)) });
    const exit = runCli(['start'], h.io, { startNode: node.startNode });
    await until(() => node.calls.includes('start'));
    h.signal('SIGINT');
    await until(() => node.calls.includes('stop'));
    h.signal('SIGINT');
    assert.deepEqual(h.exits, [1]);
    release();
    assert.equal(await exit, 0);
  });

  it('logs a node that fails to start and exits 1', async () => {
    const h = harness({}, dir);
    const node = recordingNode({ failStart: new Error('port 4001 in use') });
    assert.equal(await runCli(['start'], h.io, { startNode: node.startNode }), 1);
    const fatal = h.logs().find((l) => l['level'] === 'fatal');
    assert.equal(fatal?.['msg'], 'the node failed to start');
    assert.equal((fatal?.['err'] as Record<string, unknown>)['message'], 'port 4001 in use');
    assert.equal(h.listeners(), 0);
  });

  it('logs the warnings of the configuration', async () => {
    const h = harness({ EX_ESDB_COOKIE: 'monster' }, dir);
    const node = recordingNode();
    const exit = runCli(['start'], h.io, { startNode: node.startNode });
    await until(() => node.calls.includes('start'));
    h.signal('SIGTERM');
    assert.equal(await exit, 0);
    const warn = h.logs().find((l) => l['level'] === 'warn');
    assert.match(String(warn?.['msg']), /EX_ESDB_COOKIE is ignored/);
  });

  it('never starts the node on a configuration error', async () => {
    const h = harness({ GATER_HTTP_PORT: 'eighty' }, dir);
    const node = recordingNode();
    assert.equal(await runCli(['start'], h.io, { startNode: node.startNode }), 2);
    assert.deepEqual(node.calls, []);
    assert.equal(h.stderr(), 'gater: invalid configuration: GATER_HTTP_PORT must be an integer from 0 to 65535 (got "eighty")\n');
  });
});

/** Whether the composition root can be loaded yet (it is written alongside this CLI). */
async function nodeAvailable(): Promise<string | false> {
  try {
    await import('../../src/node/gater-node.ts');
    return false;
  } catch (err) {
    return `the composition root does not load yet: ${(err as Error).message.split('\n')[0]}`;
  }
}

describe('gater start (a real node in a child process)', async () => {
  const skip = await nodeAvailable();

  it('serves, answers gater status, and exits 0 on SIGTERM', { skip, timeout: 60_000 }, async () => {
    const dataDir = await mkdtemp(join(dir, 'node-'));
    const child = spawn(process.execPath, [BIN, 'start', '--http-port', '0', '--http-host', '127.0.0.1', '--mesh-port', '0'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        GATER_DATA_DIR: dataDir,
        GATER_NODE_NAME: 'cli-test',
        GATER_LOG_FORMAT: 'json',
        // Its own cluster, so that nodes other tests run on this host at the same time stay out of its view.
        GATER_CLUSTER_NAME: `cli-test-${process.pid}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      let httpUrl: string | undefined;
      await until(() => {
        httpUrl ??= stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => (JSON.parse(l) as { httpUrl?: string }).httpUrl)
          .find((u) => typeof u === 'string' && u !== '');
        assert.equal(child.exitCode, null, `the node exited early: ${stderr}${stdout}`);
        return httpUrl !== undefined;
      }, 30_000);

      const live = await fetch(`${httpUrl}/health/live`);
      assert.equal(live.status, 200);
      const status = await runBin(['status', '--url', httpUrl!, '--json']);
      assert.equal(status.code, 0, status.stderr);
      const body = JSON.parse(status.stdout) as { cluster: { self: { name: string } }; stores: { store: string }[] };
      assert.equal(body.cluster.self.name, 'cli-test');
      assert.deepEqual(body.stores.map((s) => s.store), ['default']);

      // A second node on the same data directory, even a pure gateway with no store of its own to lock, is refused:
      // it would share the first one's identity.
      const twin = spawn(process.execPath, [BIN, 'start', '--http-port', '0', '--http-host', '127.0.0.1', '--mesh-port', '0', '--stores', ''], {
        env: { PATH: process.env['PATH'] ?? '', GATER_DATA_DIR: dataDir, GATER_LOG_FORMAT: 'json', GATER_CLUSTER_NAME: `cli-test-${process.pid}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let twinOutput = '';
      twin.stdout.on('data', (d: Buffer) => (twinOutput += d.toString()));
      twin.stderr.on('data', (d: Buffer) => (twinOutput += d.toString()));
      const twinCode = await new Promise<number | string | null>((resolve) => {
        const timer = setTimeout(() => {
          twin.kill('SIGKILL');
          resolve('still running after 20 s');
        }, 20_000);
        twin.on('close', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
      assert.equal(twinCode, 1, twinOutput);
      assert.match(twinOutput, /in use by another gater node/);

      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.ok(stdout.includes('"msg":"stopping"'), stdout);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  // Node's recursive mkdir loops forever on such a path (ENOENT under a parent that exists), deaf to SIGTERM.
  const noProc = existsSync('/proc/self') ? false : 'no /proc on this system';
  it('fails at once, naming it, on a data directory that cannot be created (under /proc)', { skip: skip || noProc, timeout: 60_000 }, async () => {
    const dataDir = `/proc/gater-test-${process.pid}/data`;
    const started = Date.now();
    const result = await runBin(
      ['start', '--data-dir', dataDir, '--http-port', '0', '--http-host', '127.0.0.1', '--mesh-port', '0'],
      { GATER_LOG_FORMAT: 'json', GATER_CLUSTER_NAME: `cli-test-${process.pid}` },
      15_000,
    );
    assert.equal(result.signal, null, `killed after ${Date.now() - started} ms: it did not end by itself`);
    assert.equal(result.code, 1, result.stderr);
    const fatal = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string; err?: { message: string; code: string } })
      .find((l) => l.level === 'fatal');
    assert.equal(fatal?.msg, 'the node failed to start', result.stdout);
    assert.equal(fatal?.err?.code, 'unavailable');
    assert.equal(fatal?.err?.message, `the data directory ${dataDir} cannot be created: ENOENT: no such file or directory, mkdir '/proc/gater-test-${process.pid}' (GATER_DATA_DIR)`);
  });
});
