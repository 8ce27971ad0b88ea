/**
 * The Kubernetes manifests, checked without a cluster: every file parses; every container's environment is a
 * configuration the node accepts (each GATER_* name an option that exists, each value valid; downward-API and
 * secret values stand in with realistic samples); the StatefulSet, Deployment, Services, Secret, probes, resources and
 * budgets fit together; and each role of the compose topology (store nodes, gateway nodes) has its workload here
 * with the same image, port, data directory, stores and health route. Pods stop without refusing clients: a preStop
 * sleep the image can run while endpoints are removed, and a grace period above that sleep plus the node's own stop
 * timeout.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { STOP_TIMEOUT_MS } from '../../src/cli/start-command.ts';
import { loadConfigReport, OPTIONS } from '../../src/config/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'config', 'kubernetes');

type Doc = Record<string, any>;

function parseFile(file: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8'));
  return docs.map((d) => {
    assert.deepEqual(d.errors, [], `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Doc;
  }).filter((d) => d !== null);
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const byFile = new Map(files.map((f) => [f, parseFile(f)]));
const kustomization = byFile.get('kustomization.yaml')![0]!;
const applied = (kustomization['resources'] as string[]).flatMap((f) => byFile.get(f) ?? assert.fail(`${f} is listed but missing`));
const exampleSecret = byFile.get('secret.example.yaml')![0]!;
const ofKind = (kind: string): Doc[] => applied.filter((d) => d['kind'] === kind);
const one = (kind: string, name: string): Doc => ofKind(kind).find((d) => d['metadata']['name'] === name) ?? assert.fail(`no ${kind} ${name}`);

const statefulSet = one('StatefulSet', 'gater-store');
const deployment = one('Deployment', 'gater-gateway');
const workloads = [statefulSet, deployment];
const containerOf = (w: Doc): Doc => w['spec']['template']['spec']['containers'][0];
const envList = (w: Doc): Doc[] => containerOf(w)['env'];
const envValue = (w: Doc, name: string): string | undefined => envList(w).find((e) => e['name'] === name)?.['value'];

/** The ordinals of a workload's pods: a StatefulSet's from `ordinals.start`; a Deployment's pods count from 0. */
function ordinals(w: Doc): number[] {
  const start = w['kind'] === 'StatefulSet' ? (w['spec']['ordinals']?.['start'] ?? 0) : 0;
  return Array.from({ length: w['spec']['replicas'] as number }, (_, i) => start + i);
}

/**
 * What the kubelet would give the container of the pod with `ordinal`: downward-API fields and the secret as
 * samples, `$(VAR)` expanded.
 */
function containerEnv(w: Doc, ordinal = ordinals(w)[0]!): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of envList(w)) {
    let value: string;
    if (e['value'] !== undefined) value = String(e['value']).replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? assert.fail(`$(${name}) before it is set`));
    else if (e['valueFrom']?.['fieldRef']?.['fieldPath'] === 'status.podIP') value = '10.42.0.7';
    else if (e['valueFrom']?.['fieldRef']?.['fieldPath'] === 'metadata.name') value = `${w['metadata']['name']}-${ordinal}`;
    else if (e['valueFrom']?.['fieldRef']?.['fieldPath'] === "metadata.labels['apps.kubernetes.io/pod-index']") value = String(ordinal);
    else if (e['valueFrom']?.['secretKeyRef'] !== undefined) value = 'a-real-secret-of-thirty-two-byte';
    else assert.fail(`env ${e['name']}: no value this test knows how to stand in for`);
    env[e['name']] = value;
  }
  return env;
}

/** The compose services by role: store nodes (they host stores) and gateway nodes (GATER_STORES set but empty). */
function composeRoles(): Map<'store' | 'gateway', Doc[]> {
  const compose = parseAllDocuments(readFileSync(join(ROOT, 'docker-compose.yaml'), 'utf8'))[0]!.toJS({ maxAliasCount: -1 }) as Doc;
  const roles = new Map<'store' | 'gateway', Doc[]>();
  for (const service of Object.values(compose['services'] as Record<string, Doc>)) {
    const env = (service['environment'] ?? {}) as Record<string, unknown>;
    const role = env['GATER_STORES'] === '' || env['GATER_STORES'] === null ? 'gateway' : 'store';
    roles.set(role, [...(roles.get(role) ?? []), service]);
  }
  return roles;
}

/** A compose service's configuration as the node would load it. */
function composeConfig(service: Doc) {
  const env = Object.fromEntries(Object.entries(service['environment'] as Record<string, unknown>).map(([k, v]) => [k, v === null ? '' : String(v)]));
  return loadConfigReport({ env, cwd: ROOT }).config;
}

/** `0.5` or `500m` → 500; `512M` or `512Mi` → 512: the figures, whatever the notation. */
function cpuMilli(value: unknown): number {
  const text = String(value);
  return text.endsWith('m') ? Number(text.slice(0, -1)) : Number(text) * 1000;
}
function memoryFigure(value: unknown): number {
  return Number(String(value).replace(/[A-Za-z]+$/, ''));
}

/** Executables the image has: node:24-slim (Debian slim) brings a shell and coreutils. */
const IMAGE_EXECUTABLES = new Set(['/bin/sh', 'sh', '/bin/sleep', 'sleep']);

/** The seconds a preStop hook waits: a `sleep` action, or an exec of `sleep N` (directly or through a shell). */
function preStopSleepS(hook: Doc | undefined): number | undefined {
  if (hook?.['sleep']?.['seconds'] !== undefined) return Number(hook['sleep']['seconds']);
  const command = hook?.['exec']?.['command'] as string[] | undefined;
  if (command === undefined || !IMAGE_EXECUTABLES.has(command[0]!)) return undefined;
  const match = /^(?:\S*sleep) (\d+)$/.exec(command.slice(command[0]!.endsWith('sh') ? 2 : 0).join(' '));
  return match === null ? undefined : Number(match[1]);
}

describe('Kubernetes manifests (config/kubernetes)', () => {
  it('parse, each a named object, and the kustomization lists every manifest but the example secret', () => {
    for (const [file, docs] of byFile) {
      assert.ok(docs.length > 0, file);
      for (const d of docs) assert.ok(d['apiVersion'] && d['kind'] && (file === 'kustomization.yaml' || d['metadata']?.['name']), `${file}: ${d['kind']}`);
    }
    const listed = new Set(kustomization['resources'] as string[]);
    assert.deepEqual(files.filter((f) => !listed.has(f)).sort(), ['kustomization.yaml', 'secret.example.yaml']);
  });

  it('give every container a configuration the node accepts, naming only options that exist', () => {
    const known = new Set(Object.values(OPTIONS).flatMap((o) => o.env));
    for (const w of workloads) {
      const env = containerEnv(w);
      for (const name of Object.keys(env)) {
        if (/^(GATER_|EX_ESDB_)/.test(name) || name === 'LOG_LEVEL') assert.ok(known.has(name), `${w['metadata']['name']}: ${name} is not a gater option`);
      }
      const { config } = loadConfigReport({ env, cwd: ROOT, argv: [] });
      assert.equal(config.gossipMulticast, false, 'pod networks carry no multicast: seeds only');
      assert.equal(config.gossipIf, '10.42.0.7');
      assert.equal(config.meshHost, '10.42.0.7');
      assert.equal(config.nodeName, `${w['metadata']['name']}-${ordinals(w)[0]}`);
    }
    assert.deepEqual(ordinals(statefulSet).map((i) => loadConfigReport({ env: containerEnv(statefulSet, i), cwd: ROOT }).config.stores), [['store-1'], ['store-2'], ['store-3']]);
    assert.deepEqual(loadConfigReport({ env: containerEnv(deployment), cwd: ROOT }).config.stores, []);
  });

  it('seed gossip with the headless Service that holds every pod, on the ports the pods open', () => {
    const peers = one('Service', 'gater-peers');
    assert.equal(peers['spec']['clusterIP'], 'None');
    assert.equal(peers['spec']['publishNotReadyAddresses'], true, 'pods find each other before they are ready');
    assert.equal(statefulSet['spec']['serviceName'], 'gater-peers');
    for (const w of workloads) {
      const config = loadConfigReport({ env: containerEnv(w), cwd: ROOT }).config;
      assert.deepEqual(config.seeds.map((s) => s.host), ['gater-peers']);
      assert.equal(config.seeds[0]!.port, config.gossipPort);
      const labels = w['spec']['template']['metadata']['labels'] as Record<string, string>;
      for (const [k, v] of Object.entries(peers['spec']['selector'] as Record<string, string>)) assert.equal(labels[k], v, `${k} selects ${w['metadata']['name']}`);
      const ports = containerOf(w)['ports'] as Doc[];
      const port = (name: string): Doc => ports.find((p) => p['name'] === name) ?? assert.fail(`no ${name} port`);
      assert.deepEqual([port('gossip')['containerPort'], port('gossip')['protocol']], [config.gossipPort, 'UDP']);
      assert.equal(port('mesh')['containerPort'], config.meshPort);
      assert.equal(port('http')['containerPort'], config.httpPort);
    }
    const servicePorts = (peers['spec']['ports'] as Doc[]).map((p) => `${p['targetPort']}/${p['protocol']}`).sort();
    assert.deepEqual(servicePorts, ['gossip/UDP', 'mesh/TCP']);
  });

  it('take the cluster secret from the Secret, never from a value', () => {
    for (const w of workloads) {
      const entry = envList(w).find((e) => e['name'] === 'GATER_CLUSTER_SECRET')!;
      assert.equal(entry['value'], undefined);
      const ref = entry['valueFrom']['secretKeyRef'];
      assert.equal(ref['name'], exampleSecret['metadata']['name']);
      assert.ok(Object.hasOwn(exampleSecret['stringData'], ref['key']));
    }
    // The example's value is refused by the node, so applying it by mistake leaves no guessable secret running.
    const env = { ...containerEnv(statefulSet), GATER_CLUSTER_SECRET: exampleSecret['stringData']['secret'] };
    assert.throws(() => loadConfigReport({ env, cwd: ROOT }), /clusterSecret|GATER_CLUSTER_SECRET/);
  });

  it('probe the health routes, set requests and limits, keep store data on a volume per pod', () => {
    for (const w of workloads) {
      const c = containerOf(w);
      assert.equal(c['livenessProbe']['httpGet']['path'], '/health/live');
      assert.equal(c['readinessProbe']['httpGet']['path'], '/health/ready');
      assert.equal(c['readinessProbe']['httpGet']['port'], 'http');
      for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) assert.ok(c['resources'][kind][r], `${w['metadata']['name']} ${kind}.${r}`);
    }
    const claim = statefulSet['spec']['volumeClaimTemplates'][0];
    const mount = (containerOf(statefulSet)['volumeMounts'] as Doc[]).find((m) => m['name'] === claim['metadata']['name']);
    assert.equal(mount?.['mountPath'], envValue(statefulSet, 'GATER_DATA_DIR'));
  });

  it('stop without refusing clients: a preStop sleep while endpoints go, then longer than the node takes to stop', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-slim$/m, 'the image the preStop command relies on');
    for (const w of workloads) {
      const name = w['metadata']['name'];
      const sleepS = preStopSleepS(containerOf(w)['lifecycle']?.['preStop']);
      assert.ok(sleepS !== undefined && sleepS >= 1 && sleepS <= 15, `${name}: a short preStop sleep (got ${JSON.stringify(containerOf(w)['lifecycle'])})`);
      const graceS = w['spec']['template']['spec']['terminationGracePeriodSeconds'] as number;
      assert.ok(
        graceS * 1000 > sleepS * 1000 + STOP_TIMEOUT_MS,
        `${name}: terminationGracePeriodSeconds ${graceS} must exceed the preStop sleep (${sleepS} s) plus the stop timeout (${STOP_TIMEOUT_MS} ms)`,
      );
    }
  });

  it('budget disruptions of both workloads', () => {
    for (const w of workloads) {
      const labels = w['spec']['template']['metadata']['labels'] as Record<string, string>;
      const budgets = ofKind('PodDisruptionBudget').filter((b) =>
        Object.entries(b['spec']['selector']['matchLabels'] as Record<string, string>).every(([k, v]) => labels[k] === v),
      );
      assert.equal(budgets.length, 1, `one budget selects ${w['metadata']['name']}`);
    }
    assert.ok(deployment['spec']['replicas'] > one('PodDisruptionBudget', 'gater-gateway')['spec']['minAvailable']);
  });

  it('match the compose topology: as many store and gateway nodes, the same stores, image, ports, data directory, health route and sizing', () => {
    const roles = composeRoles();
    assert.ok(roles.size > 0);
    for (const [role, services] of roles) {
      const w = role === 'store' ? statefulSet : deployment;
      assert.equal(w['spec']['replicas'], services.length, `${role}: one pod per compose service`);
      if (role === 'store') {
        const k8sStores = ordinals(w).map((i) => loadConfigReport({ env: containerEnv(w, i), cwd: ROOT }).config.stores.join(',')).sort();
        assert.deepEqual(k8sStores, services.map((s) => composeConfig(s).stores.join(',')).sort(), 'the same stores, one node each');
      }
      const k8s = loadConfigReport({ env: containerEnv(w), cwd: ROOT }).config;
      const c = containerOf(w);
      for (const service of services) {
        const composed = composeConfig(service);
        assert.equal(String(service['image']).split(':')[0], String(c['image']).split(':')[0], `${role}: image`);
        for (const key of ['dataDir', 'httpPort', 'meshPort', 'gossipPort', 'clusterName', 'logLevel'] as const) {
          assert.equal(k8s[key], composed[key], `${role}: ${key}`);
        }
        const published = (service['ports'] as string[] | undefined)?.map((p) => Number(String(p).split(':').pop())) ?? [];
        for (const port of published) assert.ok((c['ports'] as Doc[]).some((p) => p['containerPort'] === port), `${role}: port ${port}`);
        const check = JSON.stringify(service['healthcheck']?.['test'] ?? '');
        if (check.includes('/health/')) assert.ok(check.includes(c['readinessProbe']['httpGet']['path']), `${role}: health route`);
        if (role === 'store') assert.ok(service['volumes']?.some((v: string) => v.endsWith(`:${k8s.dataDir}`)), 'compose keeps store data on a volume too');
        const sizing = service['deploy']?.['resources'];
        if (sizing !== undefined) {
          assert.equal(cpuMilli(c['resources']['limits']['cpu']), cpuMilli(sizing['limits']['cpus']), `${role}: cpu limit`);
          assert.equal(memoryFigure(c['resources']['limits']['memory']), memoryFigure(sizing['limits']['memory']), `${role}: memory limit`);
          assert.equal(cpuMilli(c['resources']['requests']['cpu']), cpuMilli(sizing['reservations']['cpus']), `${role}: cpu request`);
          assert.equal(memoryFigure(c['resources']['requests']['memory']), memoryFigure(sizing['reservations']['memory']), `${role}: memory request`);
        }
      }
    }
  });
});
