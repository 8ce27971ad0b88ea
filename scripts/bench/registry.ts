/**
 * Registry benchmark: N real node processes (`bin/gater.js start`, each hosting a store of its own) on 127.0.0.1 with
 * the default settings. Each run of N nodes measures, in order:
 * 1. all N started at once: from the last node's start (its own `gater node started` log line) until every node's
 *    `/v1/cluster` shows the same, complete registry (every node's workers, same stamps, same entries) and a mesh
 *    connection to every peer. On 2 cores this includes the CPU storm of N Node processes booting together;
 * 2. purge: from a SIGKILL of one node, 1–2 s after convergence, until every survivor has purged its workers (their
 *    own log lines), against discovery declaring it dead in the same processes (the purge waits for that by design);
 * 3. one node restarted into the settled cluster (same data, new incarnation): from its start until every registry
 *    is identical again. This is the goal's measure: the last node starting, the others up.
 * The baseline of 1 and 3 is discovery's full view from the same polls (every node sees all the others alive), so
 * the ratio says what the mesh connection and the registry exchange add on top of discovery.
 * Then gossipsub publish-to-receive latency with the mesh module directly: one publisher and two subscriber
 * processes, registry-sized messages at a steady pace, against the same messages over a direct libp2p stream on the
 * same connections (the floor of one hop).
 *
 * Polls of `/v1/cluster` run every POLL_INTERVAL_MS per node, so convergence times are upper bounds by up to one
 * interval plus one request. Log times come from the processes' own clocks (same host). The whole run is bounded:
 * past its time budget, remaining runs are skipped and the report says so.
 *
 *   scripts/bench/registry [--sizes 3,5,10] [--runs 2] [--out .bench/registry.json]
 *   BENCH_NODE_LOG_LEVEL=debug BENCH_LOG_DIR=/tmp/logs scripts/bench/registry --sizes 10 --runs 1   (diagnosis)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { parseArgs } from 'node:util';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { DEAD_AFTER_INTERVALS, DEFAULT_INTERVAL_MS } from '../../src/discovery/constants.ts';
import { Mesh } from '../../src/mesh/index.ts';
import { RegistryMessageKind, encodeRegistryMessage } from '../../src/registry/record-codec.ts';
import { TestCluster, type GaterProcess } from '../../test/support/gater-process.ts';
import { describeMachine, machineNotes } from './lib/machine.ts';
import { sleep, wallNow, writeReport } from './lib/output.ts';
import { median, round, summarizeLatencies, type LatencySummary } from './lib/stats.ts';

const GOAL_IDENTICAL_MS = 1_500;
const GOAL_IDENTICAL_NODES = 10;
const DEAD_AFTER_MS = DEAD_AFTER_INTERVALS * DEFAULT_INTERVAL_MS;
/** The failure window plus one second. */
const GOAL_PURGE_MS = DEAD_AFTER_MS + 1_000;
/** The whole benchmark stops starting runs past this. */
const BUDGET_MS = 160_000;
/** A run is not begun with less than this left (10 processes booting on 2 cores, the purge window, a restart). */
const RUN_RESERVE_MS = 45_000;
const STEP_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 25;
/** Least time between convergence and the kill, so that the cluster is in its steady state. */
const SETTLE_MS = 1_000;

const GOSSIP_TOPIC = 'gater-bench/registry-latency';
const STREAM_PROTOCOL = '/gater-bench/latency/1.0.0';
const GOSSIP_SUBSCRIBERS = 2;
const GOSSIP_PACE_MS = 5;
const GOSSIP_MESSAGES = 400;
const CLUSTER = 'bench-registry';
/** The nodes log at info (the purge is timed from their log lines); BENCH_NODE_LOG_LEVEL=debug for a diagnosis. */
const NODE_LOG_LEVEL = process.env['BENCH_NODE_LOG_LEVEL'] ?? 'info';
/** When set, every node's log of every run is written there. */
const LOG_DIR = process.env['BENCH_LOG_DIR'];
const SECRET = 'registry-benchmark-secret-0123456789';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '3,5,10' },
    runs: { type: 'string', default: '2' },
    out: { type: 'string', default: '.bench/registry.json' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log('usage: scripts/bench/registry [--sizes 3,5,10] [--runs 2] [--out FILE]');
  process.exit(0);
}
const sizes = args.sizes.split(',').map(Number);
const runs = Number(args.runs);
if (sizes.some((n) => !Number.isInteger(n) || n < 2 || n > 16) || !Number.isInteger(runs) || runs < 1 || runs > 10) {
  console.error('--sizes takes integers from 2 to 16, --runs an integer from 1 to 10');
  process.exit(2);
}

/** Milliseconds; `cold*` from the last start of N nodes started at once, `join*` from the restart of one node. */
interface Run {
  coldFullViewMs: number;
  coldConnectedMs: number;
  coldIdenticalMs: number;
  deadSeenMs: number;
  purgedMs: number;
  joinFullViewMs: number;
  joinConnectedMs: number;
  joinIdenticalMs: number;
}

interface Sample {
  at: number;
  alive: number;
  /** Peers with an open mesh connection. */
  connected: number;
  /** The registry in a canonical form, or undefined while incomplete. */
  registry: string | undefined;
}

interface ClusterView {
  self: { nodeId: string };
  peers: { state: string; connected: boolean }[];
  registry: { entries: Record<string, unknown>[]; nodes: { nodeId: string; incarnation: number; version: number }[] };
}

interface LogLine {
  time: number;
  msg: string;
  peer?: string;
}

/** Records what one node's `/v1/cluster` says, every POLL_INTERVAL_MS, until stopped. */
class ClusterPoller {
  readonly samples: Sample[] = [];
  nodeId: string | undefined;
  private readonly node: GaterProcess;
  private readonly size: number;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(node: GaterProcess, size: number) {
    this.node = node;
    this.size = size;
    this.done = this.loop();
  }

  latest(): Sample | undefined {
    return this.samples.at(-1);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.node.httpPort !== 0) {
        try {
          const res = await fetch(`${this.node.url}/v1/cluster`, { signal: AbortSignal.timeout(2_000) });
          if (res.status === 200) this.record((await res.json()) as ClusterView);
        } catch {
          // Not listening yet.
        }
      }
      await sleep(POLL_INTERVAL_MS);
    }
  }

  private record(view: ClusterView): void {
    this.nodeId = view.self.nodeId;
    const alive = view.peers.filter((p) => p.state === 'alive').length;
    const connected = view.peers.filter((p) => p.connected).length;
    const { entries, nodes } = view.registry;
    const complete = nodes.length === this.size && new Set(entries.map((e) => e['nodeId'])).size === this.size;
    const registry = complete
      ? JSON.stringify([
          [...nodes].sort((a, b) => a.nodeId.localeCompare(b.nodeId)).map((n) => [n.nodeId, n.incarnation, n.version]),
          entries.map(canonical).sort(),
        ])
      : undefined;
    this.samples.push({ at: wallNow(), alive, connected, registry });
  }
}

/** An entry as JSON with its keys sorted, so that the same entry compares equal whatever order it was built in. */
function canonical(entry: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(entry).sort(([a], [b]) => a.localeCompare(b))));
}

function logLines(node: GaterProcess): LogLine[] {
  const out: LogLine[] = [];
  for (const line of node.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // A line cut by the end of the buffer.
    }
  }
  return out;
}

async function waitUntil<T>(what: string, probe: () => T | undefined, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Waits until every node shows the same complete registry and a connection to every peer; then, for discovery's full
 * view, the full mesh and the identical registry, the time the last node first showed it (samples after `since`).
 */
function convergence(pollers: readonly ClusterPoller[], size: number, since: number): Promise<{ fullViewAt: number; connectedAt: number; identicalAt: number }> {
  return waitUntil('identical registries', () => {
    const latest = pollers.map((p) => p.latest());
    const final = latest[0]?.registry;
    // Registries may agree before every pair is connected (gossip relays); wait for both, time each.
    const settled = (l: Sample | undefined): boolean => l !== undefined && l.at >= since && l.registry === final && l.connected === size - 1;
    if (final === undefined || !latest.every(settled)) return undefined;
    const first = (pred: (s: Sample) => boolean): number =>
      Math.max(...pollers.map((p) => p.samples.find((s) => s.at >= since && pred(s))?.at ?? Number.NaN));
    return {
      fullViewAt: first((s) => s.alive === size - 1),
      connectedAt: first((s) => s.connected === size - 1),
      identicalAt: first((s) => s.registry === final),
    };
  });
}

function startedAt(node: GaterProcess): number {
  return logLines(node).find((l) => l.msg === 'gater node started')?.time ?? Number.NaN;
}

async function oneRun(size: number): Promise<Run> {
  const cluster = new TestCluster();
  const nodes = Array.from({ length: size }, (_, i) => cluster.add(`r${i + 1}`, { stores: [`s${i + 1}`], env: { LOG_LEVEL: NODE_LOG_LEVEL } }));
  const pollers = nodes.map((node) => new ClusterPoller(node, size));
  try {
    // 1. Every node started at once.
    await cluster.startAll();
    const lastStart = Math.max(...nodes.map(startedAt));
    const cold = await convergence(pollers, size, 0);

    // 2. SIGKILL of one node in the settled cluster.
    await sleep(SETTLE_MS + Math.random() * DEFAULT_INTERVAL_MS);
    const victim = nodes.at(-1)!;
    const victimId = pollers.at(-1)!.nodeId!;
    const survivors = nodes.slice(0, -1);
    const killedAt = wallNow();
    await victim.kill('SIGKILL');
    const lastLog = async (msg: string): Promise<number> => {
      const times = await Promise.all(
        survivors.map((node) =>
          waitUntil(`${node.name} to log '${msg}'`, () => logLines(node).find((l) => l.msg === msg && l.peer === victimId)?.time),
        ),
      );
      return Math.max(...times);
    };
    const [deadAt, purgedAt] = await Promise.all([lastLog('node left the cluster'), lastLog('purged the workers of a node that left')]);
    // The logs say so; the HTTP view must agree before the node comes back.
    await waitUntil('the HTTP views to drop the killed node', () =>
      pollers.slice(0, -1).every((p) => p.latest()?.registry === undefined && p.latest()!.at > purgedAt) ? true : undefined,
    );

    // 3. The same node starts again (same data, new incarnation) and joins the settled cluster.
    await sleep(SETTLE_MS);
    const restartFrom = wallNow();
    await victim.start();
    const rejoinStart = startedAt(victim);
    const rejoin = await convergence(pollers, size, restartFrom);
    return {
      coldFullViewMs: cold.fullViewAt - lastStart,
      coldConnectedMs: cold.connectedAt - lastStart,
      coldIdenticalMs: cold.identicalAt - lastStart,
      deadSeenMs: deadAt - killedAt,
      purgedMs: purgedAt - killedAt,
      joinFullViewMs: rejoin.fullViewAt - rejoinStart,
      joinConnectedMs: rejoin.connectedAt - rejoinStart,
      joinIdenticalMs: rejoin.identicalAt - rejoinStart,
    };
  } finally {
    await Promise.all(pollers.map((p) => p.stop()));
    if (LOG_DIR !== undefined) {
      mkdirSync(LOG_DIR, { recursive: true });
      for (const node of nodes) writeFileSync(join(LOG_DIR, `n${size}-${Date.now()}-${node.name}.log`), node.logs());
    }
    await cluster.close();
  }
}

// ---- gossipsub latency ----------------------------------------------------------------------------------------

interface Peer {
  child: ChildProcess;
  lines: AsyncIterator<string>;
  reader: Interface;
}

async function spawnPeer(messageBytes: number): Promise<Peer & { peerId: string; addrs: string[] }> {
  const script = new URL('./lib/mesh-peer.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, GOSSIP_TOPIC, STREAM_PROTOCOL, String(messageBytes), CLUSTER, SECRET], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const reader = createInterface({ input: child.stdout! });
  const lines = reader[Symbol.asyncIterator]();
  const first = await Promise.race([
    lines.next(),
    sleep(STEP_TIMEOUT_MS).then(() => {
      throw new Error('a mesh peer did not start');
    }),
  ]);
  const hello = JSON.parse(String(first.value)) as { peerId: string; addrs: string[] };
  return { child, lines, reader, ...hello };
}

/** A registry record message as gossiped: a node with one store and one worker, padded to a whole size. */
function registrySizedMessage(): Uint8Array {
  const nodeId = '12D3KooWMAqjdWo8U6panUrU9LbZtJbvhMdD6KSNA4ooncfNs3F6';
  const bytes = encodeRegistryMessage({
    kind: RegistryMessageKind.Record,
    record: {
      nodeId,
      incarnation: Date.now(),
      version: 1,
      entries: [
        {
          store: 'greenhouse',
          workerId: `greenhouse@${nodeId}#0`,
          nodeId,
          addrs: [`/ip4/127.0.0.1/tcp/45893/p2p/${nodeId}`],
          backend: 'sqlite',
          startedAt: new Date().toISOString(),
        },
      ],
    },
  });
  const out = new Uint8Array(8 + bytes.byteLength);
  out.set(bytes, 8);
  return out;
}

async function gossipLatency(): Promise<{ messageBytes: number; gossip: LatencySummary; stream: LatencySummary; ratio: number }> {
  const template = registrySizedMessage();
  const peers: Peer[] = [];
  const mesh = new Mesh(
    {},
    {
      privateKey: await generateKeyPair('Ed25519'),
      listenHost: '127.0.0.1',
      port: 0,
      clusterName: CLUSTER,
      clusterSecrets: { primary: SECRET, previous: [] },
    },
  );
  await mesh.start();
  try {
    const started = await Promise.all(Array.from({ length: GOSSIP_SUBSCRIBERS }, () => spawnPeer(template.byteLength)));
    peers.push(...started);
    for (const peer of started) await mesh.dial(peer.peerId, peer.addrs);
    await waitUntil('the subscribers to be known', () => (mesh.topicPeers(GOSSIP_TOPIC).length === GOSSIP_SUBSCRIBERS ? true : undefined));
    const streams = await Promise.all(started.map((peer) => mesh.dialProtocol(peer.peerId, STREAM_PROTOCOL)));
    const stamped = (): Uint8Array => {
      const message = template.slice();
      new DataView(message.buffer).setFloat64(0, wallNow(), true);
      return message;
    };
    // Alternate the two paths message by message, so that both see the same moments of machine load.
    for (let i = 0; i < GOSSIP_MESSAGES; i++) {
      await mesh.publish(GOSSIP_TOPIC, stamped());
      for (const stream of streams) stream.send(stamped());
      await sleep(GOSSIP_PACE_MS);
    }
    await sleep(500);
    const gossip: number[] = [];
    const direct: number[] = [];
    for (const peer of peers) {
      peer.child.stdin!.end();
      const last = await peer.lines.next();
      const result = JSON.parse(String(last.value)) as { gossip: number[]; stream: number[] };
      gossip.push(...result.gossip);
      direct.push(...result.stream);
    }
    const g = summarizeLatencies(gossip);
    const s = summarizeLatencies(direct);
    return { messageBytes: template.byteLength, gossip: g, stream: s, ratio: round(g.p50Ms / s.p50Ms, 2) };
  } finally {
    for (const peer of peers) {
      peer.reader.close();
      if (peer.child.exitCode === null && peer.child.pid !== undefined) {
        peer.child.stdin!.end();
        const exited = once(peer.child, 'exit');
        const timer = setTimeout(() => peer.child.pid !== undefined && process.kill(peer.child.pid, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    }
    await mesh.stop();
  }
}

// ---- main -----------------------------------------------------------------------------------------------------

const machineBefore = machineNotes();
const began = Date.now();
const results: Array<{ nodes: number; runs: Run[]; median: Run }> = [];
let skipped = 0;
const failures: { nodes: number; run: number; error: string }[] = [];
for (const size of sizes) {
  const done: Run[] = [];
  for (let i = 0; i < runs; i++) {
    if (Date.now() - began > BUDGET_MS - RUN_RESERVE_MS) {
      skipped++;
      continue;
    }
    let run: Run;
    try {
      run = await oneRun(size);
    } catch (err) {
      // A cluster that does not converge is a finding, not a reason to lose the other runs.
      failures.push({ nodes: size, run: i + 1, error: err instanceof Error ? err.message : String(err) });
      console.log(`N=${String(size).padStart(2)} run ${i + 1} FAILED: ${failures.at(-1)!.error}`);
      continue;
    }
    done.push(run);
    console.log(
      `N=${String(size).padStart(2)} run ${i + 1}: all started at once: full view ${ms(run.coldFullViewMs)}, connected ` +
        `${ms(run.coldConnectedMs)}, identical ${ms(run.coldIdenticalMs)}; SIGKILL: dead ${ms(run.deadSeenMs)}, purged ` +
        `${ms(run.purgedMs)}; restarted node: full view ${ms(run.joinFullViewMs)}, connected ${ms(run.joinConnectedMs)}, ` +
        `identical ${ms(run.joinIdenticalMs)}`,
    );
  }
  if (done.length === 0) continue;
  const keys = Object.keys(done[0]!) as (keyof Run)[];
  const pick = (f: (k: keyof Run) => number): Run => Object.fromEntries(keys.map((k) => [k, f(k)])) as unknown as Run;
  results.push({
    nodes: size,
    runs: done.map((r) => pick((k) => round(r[k]))),
    median: pick((k) => round(median(done.map((r) => r[k])))),
  });
}
const latency = await gossipLatency();
const machineAfter = machineNotes();

const largest = results.find((r) => r.nodes === GOAL_IDENTICAL_NODES) ?? results.at(-1);
const goals = {
  joinIdenticalMs: {
    goal: GOAL_IDENTICAL_MS,
    nodes: largest?.nodes,
    met: (largest?.median.joinIdenticalMs ?? Infinity) <= GOAL_IDENTICAL_MS,
  },
  coldIdenticalMs: {
    goal: GOAL_IDENTICAL_MS,
    nodes: largest?.nodes,
    met: (largest?.median.coldIdenticalMs ?? Infinity) <= GOAL_IDENTICAL_MS,
  },
  purgedMs: { goal: GOAL_PURGE_MS, met: results.length > 0 && results.every((r) => r.median.purgedMs <= GOAL_PURGE_MS) },
};
const ratios = results.map((r) => ({
  nodes: r.nodes,
  coldIdenticalToFullView: round(r.median.coldIdenticalMs / r.median.coldFullViewMs, 2),
  joinIdenticalToFullView: round(r.median.joinIdenticalMs / r.median.joinFullViewMs, 2),
  purgedToDead: round(r.median.purgedMs / r.median.deadSeenMs, 2),
}));

console.log(
  `\nregistry benchmark: bin/gater.js processes on 127.0.0.1, one store each, gossip every ${DEFAULT_INTERVAL_MS} ms, ` +
    `dead after ${DEAD_AFTER_MS} ms; median of ${runs} run(s); polls every ${POLL_INTERVAL_MS} ms (times are upper bounds by that)`,
);
console.log(`machine: ${describeMachine(machineBefore)} before, ${machineAfter.loadAverage.join(' / ')} after`);
console.log('ms from the last start      all N started at once           one node restarted into the cluster');
console.log('nodes    full view  connected  identical  ×view    full view  connected  identical  ×view    dead  purged  ×dead');
for (const [i, r] of results.entries()) {
  const m = r.median;
  const q = ratios[i]!;
  console.log(
    `${String(r.nodes).padStart(5)}${col(m.coldFullViewMs, 13)}${col(m.coldConnectedMs, 11)}${col(m.coldIdenticalMs, 11)}` +
      `${q.coldIdenticalToFullView.toFixed(2).padStart(7)}${col(m.joinFullViewMs, 13)}${col(m.joinConnectedMs, 11)}` +
      `${col(m.joinIdenticalMs, 11)}${q.joinIdenticalToFullView.toFixed(2).padStart(7)}${col(m.deadSeenMs, 8)}` +
      `${col(m.purgedMs, 8)}${q.purgedToDead.toFixed(2).padStart(7)}`,
  );
}
console.log(
  `gossipsub publish→receive (${latency.messageBytes}-byte registry record, ${GOSSIP_SUBSCRIBERS} subscribers, one every ` +
    `${GOSSIP_PACE_MS} ms): p50 ${latency.gossip.p50Ms} ms, p99 ${latency.gossip.p99Ms} ms; ` +
    `direct stream p50 ${latency.stream.p50Ms} ms, p99 ${latency.stream.p99Ms} ms; gossip/stream p50 ${latency.ratio}×`,
);
const verdict = (met: boolean): string => (met ? 'met' : 'NOT MET');
console.log(
  `goal identical registries of ${goals.joinIdenticalMs.nodes} nodes <= ${GOAL_IDENTICAL_MS} ms after the last start: ` +
    `${verdict(goals.joinIdenticalMs.met)} (node joining a running cluster), ${verdict(goals.coldIdenticalMs.met)} ` +
    `(all nodes started at once)`,
);
console.log(`goal purged everywhere <= ${GOAL_PURGE_MS} ms after SIGKILL: ${verdict(goals.purgedMs.met)}`);
if (skipped > 0) console.log(`${skipped} run(s) skipped to stay within the ${BUDGET_MS / 1000} s budget`);
if (failures.length > 0) console.log(`${failures.length} run(s) failed (see above); their figures are not in the medians`);

writeReport(args.out, {
  transport: 'bin/gater.js processes on 127.0.0.1 (multicast discovery, libp2p mesh with pnet)',
  intervalMs: DEFAULT_INTERVAL_MS,
  deadAfterMs: DEAD_AFTER_MS,
  pollIntervalMs: POLL_INTERVAL_MS,
  machine: { ...machineBefore, loadAverageAfter: machineAfter.loadAverage },
  runsPerSize: runs,
  skippedRuns: skipped,
  failures,
  results,
  ratios,
  gossipLatency: { subscribers: GOSSIP_SUBSCRIBERS, paceMs: GOSSIP_PACE_MS, messages: GOSSIP_MESSAGES, ...latency },
  goals,
});

function ms(n: number): string {
  return `${n.toFixed(0)} ms`;
}

function col(n: number, width: number): string {
  return n.toFixed(0).padStart(width);
}
