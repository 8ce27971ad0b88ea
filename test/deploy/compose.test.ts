/**
 * The Docker deployment, checked without a Docker engine: docker-compose.yaml parses and holds three store nodes and
 * two gateway nodes on one bridge network, each with an environment the node accepts (only options the configuration
 * knows), broadcast gossip as in the seed, the secret required from the environment with no default, healthchecks on
 * /health/ready, a volume per store node, a restart policy and resource limits; it is the rig's topology
 * (`scripts/rig up 5 --gateways 2`), and, as root, its network settings form a cluster on the rig. The Dockerfile is
 * multi-stage on Node 24 slim, runs as a non-root user with production dependencies only. `docker compose config`
 * validates the file when the compose plugin is installed. Every node is given longer to stop than it takes at most
 * (STOP_TIMEOUT_MS), and the PostgreSQL override publishes its nodes on the host loopback only, sized like the rest.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { STOP_TIMEOUT_MS } from '../../src/cli/start-command.ts';
import { loadConfigReport, OPTIONS } from '../../src/config/index.ts';
import { nodeEnvironment, planHosts, RIG_GOSSIP_PORT, RIG_HTTP_PORT, RIG_MESH_PORT } from '../../scripts/rig-lib/topology.ts';
import { openTestRig, rigSkipReason, type TestRig } from '../support/rig-harness.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yaml');
const POSTGRES_FILE = join(ROOT, 'docker-compose.postgres.yaml');
const SAMPLE_SECRET = 'a-sample-secret-of-32-characters';
/** Settings that differ between a container and a rig host by nature: where data lives, which address gossip binds. */
const HOST_SPECIFIC = new Set(['GATER_DATA_DIR', 'GATER_GOSSIP_IF', 'GATER_CLUSTER_SECRET', 'GATER_HTTP_HOST', 'GATER_LOG_FORMAT', 'LOG_LEVEL']);

type Service = Record<string, any>;
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as Record<string, any>;
const services = compose['services'] as Record<string, Service>;
const rigPlan = planHosts(5, 2);
const KNOWN_ENV = new Set(Object.values(OPTIONS).flatMap((o) => o.env));

function environment(service: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(service['environment'] as Record<string, unknown>).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** The environment as the container gets it, the required secret given. */
function interpolated(service: Service): Record<string, string> {
  const env = environment(service);
  return { ...env, GATER_CLUSTER_SECRET: SAMPLE_SECRET };
}

const execFileAsync = promisify(execFile);

/** A compose duration (`40s`, `1m30s`, `500ms`) in milliseconds. */
function durationMs(value: unknown): number {
  const text = String(value);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  assert.ok(parts.length > 0 && parts.map((p) => p[0]).join('') === text, `not a compose duration: ${text}`);
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u!]!, 0);
}

/** Docker's SIGKILL must come after the node's own stop timeout, or a node is killed in the middle of stopping. */
function assertStopsCleanly(name: string, service: Service): void {
  assert.ok(service['stop_grace_period'], `${name}: stop_grace_period (Docker's default is 10 s)`);
  const graceMs = durationMs(service['stop_grace_period']);
  assert.ok(graceMs > STOP_TIMEOUT_MS, `${name}: stop_grace_period ${service['stop_grace_period']} is not longer than the node's stop timeout (${STOP_TIMEOUT_MS} ms)`);
}

/** The argv prefix of a working `docker compose`, or undefined. */
async function composeCommand(): Promise<string[] | undefined> {
  for (const argv of [['docker', 'compose'], ['docker-compose']]) {
    try {
      await execFileAsync(argv[0]!, [...argv.slice(1), 'version'], { timeout: 10_000 });
      return argv;
    } catch {
      // not installed
    }
  }
  return undefined;
}

describe('docker-compose.yaml', () => {
  it('has five nodes on one bridge network, and volumes for the store nodes only', () => {
    assert.deepEqual(Object.keys(services), rigPlan.map((h) => h.name));
    assert.deepEqual(Object.keys(compose['networks']), ['gater-net']);
    assert.equal(compose['networks']['gater-net']['driver'], 'bridge');
    for (const service of Object.values(services)) assert.deepEqual(service['networks'], ['gater-net']);
    assert.deepEqual(Object.keys(compose['volumes']).sort(), ['gater-1-data', 'gater-2-data', 'gater-3-data']);
  });

  it('is the rig topology: the same nodes, roles, stores and gossip, node by node', () => {
    for (const host of rigPlan) {
      const env = environment(services[host.name]!);
      const rig = nodeEnvironment(host, { clusterName: 'gater', secret: SAMPLE_SECRET, mode: 'broadcast', dataDir: '/data' });
      for (const [name, value] of Object.entries(rig)) {
        if (!HOST_SPECIFIC.has(name)) assert.equal(env[name], value, `${host.name}: ${name}`);
      }
      const config = loadConfigReport({ env: interpolated(services[host.name]!), cwd: ROOT, argv: [] }).config;
      assert.equal(config.nodeName, host.name);
      assert.deepEqual(config.stores, host.stores, `${host.name} is a ${host.role} node`);
    }
  });

  it('gives every node a configuration it accepts: broadcast gossip as in the seed, fixed ports, only known options', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const variable of Object.keys(environment(service))) assert.ok(KNOWN_ENV.has(variable), `${name}: ${variable} is not a gater option`);
      const { config } = loadConfigReport({ env: interpolated(service), cwd: ROOT, argv: [] });
      assert.equal(config.broadcastOnly, true, name);
      assert.equal(config.gossipAddr, '255.255.255.255', name);
      assert.equal(config.gossipIf, '0.0.0.0', name);
      assert.equal(config.gossipPort, RIG_GOSSIP_PORT, name);
      assert.equal(config.meshPort, RIG_MESH_PORT, name);
      assert.equal(config.httpPort, RIG_HTTP_PORT, name);
      assert.equal(config.dataDir, '/data', name);
      assert.equal(config.storeBackend, 'sqlite', name);
    }
  });

  it('requires the cluster secret from the environment, with no default', () => {
    for (const [name, service] of Object.entries(services)) {
      const value = String(service['environment']['GATER_CLUSTER_SECRET']);
      assert.match(value, /^\$\{GATER_CLUSTER_SECRET:\?[^}$]+\}$/, `${name}: \${VAR:?message} makes compose refuse to start without it`);
    }
    // And a node started with the variable unset refuses to start too: gossip leaves loopback.
    const env = { ...environment(services['gater-1']!), GATER_CLUSTER_SECRET: '' };
    assert.throws(() => loadConfigReport({ env, cwd: ROOT, argv: [] }), /GATER_CLUSTER_SECRET/);
  });

  it('checks health on /health/ready, restarts, stops cleanly, limits resources, keeps each store on its own volume', () => {
    const mounts = new Set<string>();
    for (const host of rigPlan) {
      const service = services[host.name]!;
      const check = service['healthcheck'] as Record<string, any>;
      assert.equal(check['test'][0], 'CMD');
      assert.ok(String(check['test'].join(' ')).includes(`127.0.0.1:${RIG_HTTP_PORT}/health/ready`), `${host.name}: ${check['test']}`);
      for (const field of ['interval', 'timeout', 'retries', 'start_period']) assert.ok(check[field], `${host.name}: healthcheck.${field}`);
      assert.equal(service['restart'], 'unless-stopped');
      assertStopsCleanly(host.name, service);
      const limits = service['deploy']['resources']['limits'];
      assert.ok(limits['cpus'] && limits['memory'], `${host.name}: limits`);
      assert.ok(service['deploy']['resources']['reservations']['memory'], `${host.name}: reservations`);
      assert.equal(service['image'], 'gater:local');
      assert.equal(service['build'], '.');
      const volumes = (service['volumes'] ?? []) as string[];
      if (host.role === 'store') {
        assert.deepEqual(volumes, [`${host.name}-data:/data`]);
        mounts.add(volumes[0]!);
      } else {
        assert.deepEqual(volumes, []);
      }
    }
    assert.equal(mounts.size, 3, 'a volume of its own per store node');
  });

  it('publishes only the gateways, on the host loopback', () => {
    for (const host of rigPlan) {
      const ports = (services[host.name]!['ports'] ?? []) as string[];
      if (host.role === 'store') assert.deepEqual(ports, [], host.name);
      else assert.ok(ports.length === 1 && ports[0]!.startsWith('127.0.0.1:') && ports[0]!.endsWith(`:${RIG_HTTP_PORT}`), `${host.name}: ${ports}`);
    }
  });

  it('passes `docker compose config` when the compose plugin is installed', async (t) => {
    const command = await composeCommand();
    if (command === undefined) {
      t.skip('no `docker compose` (or docker-compose) here: the structure checks above stand in for it');
      return;
    }
    const [file, ...args] = command;
    const env = { ...process.env, GATER_CLUSTER_SECRET: SAMPLE_SECRET };
    await execFileAsync(file!, [...args, '-f', COMPOSE_FILE, 'config', '--quiet'], { env, timeout: 30_000 });
    const unset = { ...process.env };
    delete unset['GATER_CLUSTER_SECRET'];
    await assert.rejects(execFileAsync(file!, [...args, '-f', COMPOSE_FILE, 'config', '--quiet'], { env: unset, timeout: 30_000 }), /GATER_CLUSTER_SECRET/);
  });
});

describe('docker-compose.postgres.yaml', () => {
  const override = parse(readFileSync(POSTGRES_FILE, 'utf8'), { merge: true, maxAliasCount: -1 }) as Record<string, any>;
  const nodes = Object.entries(override['services'] as Record<string, Service>).filter(([name]) => name.startsWith('gater-'));

  it('has two gater nodes serving the PostgreSQL store, with a configuration each accepts', () => {
    assert.deepEqual(nodes.map(([name]) => name), ['gater-pg-1', 'gater-pg-2']);
    for (const [name, service] of nodes) {
      const { config } = loadConfigReport({ env: interpolated(service), cwd: ROOT, argv: [] });
      assert.equal(config.nodeName, name);
      assert.equal(config.storeBackend, 'postgres');
      assert.deepEqual(config.stores, ['shared']);
    }
  });

  it('publishes the unauthenticated API on the host loopback only, as the base file does', () => {
    for (const [name, service] of nodes) {
      const ports = (service['ports'] ?? []) as string[];
      assert.ok(ports.length > 0, name);
      for (const port of ports) assert.match(String(port), new RegExp(`^127\\.0\\.0\\.1:\\d+:${RIG_HTTP_PORT}$`), `${name} publishes ${port}`);
    }
    const published = nodes.flatMap(([, s]) => (s['ports'] as string[]).map((p) => p.split(':')[1]));
    assert.equal(new Set(published).size, published.length, 'a host port each');
  });

  it("stops cleanly, restarts, and is sized like the base file's nodes", () => {
    const base = services['gater-1']!['deploy']['resources'];
    for (const [name, service] of nodes) {
      assertStopsCleanly(name, service);
      assert.equal(service['restart'], 'unless-stopped', name);
      assert.deepEqual(service['deploy']?.['resources'], base, `${name}: deploy.resources`);
      assert.ok(String(service['healthcheck']['test'].join(' ')).includes('/health/ready'), name);
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const lines = dockerfile.split('\n').filter((l) => !l.startsWith('#'));
  const stages = lines.join('\n').split(/^FROM /m).slice(1);
  const runtime = stages.at(-1)!;

  it('builds in stages on Node 24 slim and runs dist/ as a non-root user with production dependencies only', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-slim$/m);
    for (const stage of stages) assert.ok(stage.startsWith('${NODE_IMAGE}'), `every stage on ${'${NODE_IMAGE}'}: ${stage.split('\n')[0]}`);
    assert.match(dockerfile, /npm ci --omit=dev --ignore-scripts/);
    assert.match(runtime, /^USER node$/m);
    assert.match(runtime, /COPY --from=build \/app\/dist \.\/dist/);
    assert.doesNotMatch(runtime, /COPY src|npm (ci|install)(?!.*--omit=dev)/, 'no sources and no dev dependencies in the runtime stage');
    assert.match(runtime, /^ENTRYPOINT \["node", "bin\/gater\.js"\]$/m);
    assert.match(runtime, /^HEALTHCHECK .*/m);
    assert.match(runtime, /\/health\/ready/);
  });

  it('the production install needs no devDependency: none of them has an install script', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> };
    const scripted = Object.entries(lock.packages).filter(([path, p]) => path !== '' && !p.dev && p.hasInstallScript).map(([path]) => path);
    assert.deepEqual(scripted, [], 'production packages that --ignore-scripts would break');
  });

  it('keeps the build context to what the build reads', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(ignore[0], '*', 'everything is out unless listed');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, '')).sort();
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' ')).sort();
    assert.deepEqual([...new Set(copied)], allowed);
    assert.ok(ignore.includes('config/gater.json'), 'a local config file (which may hold a secret) stays out');
  });
});

const rigSkip = await rigSkipReason();

describe("the compose file's network settings on the rig", { skip: rigSkip }, () => {
  let t: TestRig;

  before(async () => {
    // Every setting the five services share, as the rig's own (data dir and secret stay the rig's).
    const shared = environment(services['gater-1']!);
    for (const name of ['GATER_NODE_NAME', 'GATER_STORES', 'GATER_DATA_DIR', 'GATER_CLUSTER_SECRET']) delete shared[name];
    t = await openTestRig('compose', { hosts: 5, gateways: 2, mode: 'broadcast', env: shared, timeoutMs: 45_000 });
  });
  after(() => t?.close());

  it('form a cluster of the five nodes, bound to every interface as in a container', async () => {
    const view = (await t.rig.view(4))!;
    assert.deepEqual(view.peers.map((p) => `${p.name}:${p.state}`).sort(), ['gater-1:alive', 'gater-2:alive', 'gater-3:alive', 'gater-5:alive']);
    assert.deepEqual([...new Set(view.registry.entries.map((e) => e.store))].sort(), ['store-1', 'store-2', 'store-3']);
    const appended = await t.rig.http(5).post('/v1/stores/store-3/streams/compose-1/events', { events: [{ eventType: 'x:v1', data: {} }] });
    assert.equal(appended.status, 200, JSON.stringify(appended.body));
  });
});
