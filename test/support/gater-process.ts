/**
 * Real gater nodes as child processes (`bin/gater.js start`), for tests that need separate processes: SIGKILL,
 * restarts, clusters. Gossip stays on 127.0.0.1 with a cluster name and port of the test's own, so concurrent tests
 * never meet. Every process is killed by its PID and every data dir removed by `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/gater.js', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A UDP port free on 127.0.0.1 right now, for a node that gossips to seeds only (it binds a port of its own). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes; then throws naming `what` and the last value. */
export async function waitFor<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 15_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${String(last)}`);
    await sleep(everyMs);
  }
}

export interface ClusterIdentity {
  name: string;
  secret: string;
  gossipPort: number;
  group: string;
}

/** A cluster identity no other test shares. */
export function uniqueCluster(): ClusterIdentity {
  return {
    name: `t-${randomBytes(4).toString('hex')}`,
    secret: randomBytes(24).toString('hex'),
    gossipPort: 46_000 + Math.floor(Math.random() * 3_000),
    group: `239.255.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`,
  };
}

export interface GaterProcessOptions {
  name: string;
  cluster: ClusterIdentity;
  /** `GATER_STORES`; [] makes a pure gateway node. @default ['default'] */
  stores?: string[];
  /** Extra environment, e.g. a different secret, `GATER_STORE_BACKEND`. */
  env?: Record<string, string>;
  /** Reuse a data dir (a restarted node keeps its identity and its store). */
  dataDir?: string;
}

export class GaterProcess {
  readonly name: string;
  readonly options: GaterProcessOptions;
  dataDir = '';
  httpPort = 0;
  private child: ChildProcess | undefined;
  private output: string[] = [];
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(options: GaterProcessOptions) {
    this.name = options.name;
    this.options = options;
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Starts the process and waits until `/health/ready` answers 200, or with `until: 'live'` until `/health/live` does
   * (for a node expected to start unready, such as one whose embedded store conflicts with another node's).
   */
  async start(options: { until?: 'ready' | 'live' } = {}): Promise<void> {
    const probe = options.until === 'live' ? '/health/live' : '/health/ready';
    if (this.dataDir === '') this.dataDir = this.options.dataDir ?? (await mkdtemp(join(tmpdir(), `gater-${this.name}-`)));
    if (this.httpPort === 0) this.httpPort = await freePort();
    const { cluster } = this.options;
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      GATER_NODE_NAME: this.name,
      GATER_HTTP_PORT: String(this.httpPort),
      GATER_HTTP_HOST: '127.0.0.1',
      GATER_DATA_DIR: this.dataDir,
      GATER_STORES: (this.options.stores ?? ['default']).join(','),
      GATER_CLUSTER_NAME: cluster.name,
      GATER_CLUSTER_SECRET: cluster.secret,
      GATER_GOSSIP_PORT: String(cluster.gossipPort),
      GATER_GOSSIP_ADDR: cluster.group,
      GATER_GOSSIP_IF: '127.0.0.1',
      GATER_MESH_HOST: '127.0.0.1',
      GATER_LOG_FORMAT: 'json',
      LOG_LEVEL: process.env['TEST_NODE_LOG_LEVEL'] ?? 'warn',
      ...this.options.env,
    };
    this.output = [];
    const child = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.keep(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.keep(chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(`${this.name} to answer ${probe} on ${this.httpPort}`, async () => {
      if (!this.running) throw new Error(`${this.name} exited: ${this.logs().slice(-2000)}`);
      const res = await fetch(`${this.url}${probe}`, { signal: AbortSignal.timeout(1_000) });
      return res.status === 200;
    }, 30_000);
  }

  /** Kills the process by its PID (SIGKILL by default) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running || this.child?.pid === undefined) return;
    process.kill(this.child.pid, signal);
    await this.exited;
  }

  /** Graceful stop (SIGTERM) with a SIGKILL fallback. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async json<T = any>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.url}${path}`, { ...init, signal: init.signal ?? AbortSignal.timeout(15_000) });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  post<T = any>(path: string, body: unknown): Promise<{ status: number; body: T }> {
    return this.json<T>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  logs(): string {
    return this.output.join('');
  }

  /** Kills the process and removes its data dir. */
  async close(): Promise<void> {
    await this.kill();
    if (this.dataDir !== '' && this.options.dataDir === undefined) await rm(this.dataDir, { recursive: true, force: true });
  }

  private keep(chunk: Buffer): void {
    this.output.push(chunk.toString());
    if (this.output.length > 2_000) this.output.splice(0, 1_000);
  }
}

/** Several nodes of one cluster. */
export class TestCluster {
  readonly identity: ClusterIdentity;
  readonly nodes: GaterProcess[] = [];

  constructor(identity: ClusterIdentity = uniqueCluster()) {
    this.identity = identity;
  }

  add(name: string, options: Omit<GaterProcessOptions, 'name' | 'cluster'> = {}): GaterProcess {
    const node = new GaterProcess({ name, cluster: this.identity, ...options });
    this.nodes.push(node);
    return node;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.start()));
  }

  /** Waits until every running node sees every other running node alive. */
  async formed(timeoutMs = 15_000): Promise<void> {
    const running = this.nodes.filter((n) => n.running);
    await waitFor('the cluster to form', async () => {
      for (const n of running) {
        const { body } = await n.json<{ peers: { state: string }[] }>('/v1/cluster');
        if (body.peers.filter((p) => p.state === 'alive').length < running.length - 1) return false;
      }
      return true;
    }, timeoutMs);
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }
}
