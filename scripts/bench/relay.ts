/**
 * Relay benchmark: the same store calls, 100 in flight, side by side in one run:
 * 1. in-process: the Gateway of this process calling its local worker (SQLite, synchronous=FULL);
 * 2. relayed: the same Gateway calling a worker on another node (a `bin/gater.js` process) over the mesh RPC, with
 *    the private network on (pnet, noise, yamux; one long-lived stream per peer, frames coalesced per tick);
 * 3. the floor: the same RPC frames with the same codec over a raw TCP socket between two processes, no store
 *    (one write per frame, and coalesced per tick);
 * 4. the peer: Moleculer (TCP transporter, two brokers on 127.0.0.1) whose remote action makes the same store call
 *    through a GatewayWorker. Installed at run time into `.bench/peers` (gitignored), never a dependency of gater.
 * Two calls: a cheap one (a stream's version) and a single-event append. Each measurement is a closed loop for
 * `--seconds` after a warm-up; the rounds are interleaved (so load from other work on a shared machine hits every
 * path alike) and the best round of each counts. Before that, the codec comparison that chose the RPC's codec.
 *
 *   scripts/bench/relay [--seconds 3] [--rounds 3] [--in-flight 100] [--only relay,moleculer,...] [--ops append]
 *                       [--no-codec] [--synchronous FULL|NORMAL] [--out FILE]
 *   scripts/bench/relay --profile=DIR   (CPU profiles of this process and of the worker node, into DIR)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { GaterProcess, freePort, uniqueCluster } from '../../test/support/gater-process.ts';
import { createTestApi } from '../../test/support/real-api.ts';
import { readingEvent } from './lib/bench-events.ts';
import { compareCodecs, jsonCodec, msgpackCodec, type Codec, type CodecFigure } from './lib/codec-compare.ts';
import { closedLoop, type LoadResult } from './lib/load.ts';
import { describeMachine, machineNotes } from './lib/machine.ts';
import { sleep, writeReport } from './lib/output.ts';
import { VERSION_STREAMS, appendStream, benchCall, setupCall, versionStream, type BenchOp } from './lib/relay-calls.ts';
import { floorClient, type WriteMode } from './lib/rpc-floor.ts';
import { fmtRate, median, round } from './lib/stats.ts';

const GOAL_MOLECULER_RATIO = 1.2;
const GOAL_APPENDS_PER_S = 15_000;
const PEERS_DIR = resolve('.bench/peers');
const PEER_PACKAGES = ['moleculer@0.15.2', 'msgpackr@2.1.3'];
const LOCAL_STORE = 'local';
const REMOTE_STORE = 'remote';
const START_TIMEOUT_MS = 30_000;

const PATHS = ['inprocess', 'relay', 'floor-per-frame', 'floor-coalesced', 'moleculer'] as const;
type PathName = (typeof PATHS)[number];
const ALL_OPS: readonly BenchOp[] = ['streamVersion', 'append'];

const { values: args } = parseArgs({
  allowNegative: true,
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    'in-flight': { type: 'string', default: '100' },
    only: { type: 'string', default: PATHS.join(',') },
    ops: { type: 'string', default: 'streamVersion,append' },
    codec: { type: 'boolean', default: true },
    synchronous: { type: 'string', default: 'FULL' },
    out: { type: 'string', default: '.bench/relay.json' },
    profile: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(`usage: scripts/bench/relay [--seconds 3] [--rounds 3] [--in-flight 100] [--only ${PATHS.join(',')}] [--ops ${ALL_OPS.join(',')}] [--no-codec] [--synchronous FULL|NORMAL] [--out FILE] [--profile=DIR]`);
  process.exit(0);
}
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const inFlight = Number(args['in-flight']);
const only = new Set(args.only.split(','));
const OPS = args.ops.split(',') as BenchOp[];
if (OPS.some((op) => !ALL_OPS.includes(op))) {
  console.error(`--ops takes ${ALL_OPS.join(',')}`);
  process.exit(2);
}
if (!(seconds > 0 && seconds <= 20) || !Number.isInteger(rounds) || rounds < 1 || rounds > 5 || !(inFlight >= 1 && inFlight <= 1_000)) {
  console.error('--seconds takes 0..20, --rounds 1..5, --in-flight 1..1000');
  process.exit(2);
}
const synchronous = args.synchronous as 'FULL' | 'NORMAL';
if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
  console.error('--synchronous takes FULL (the default, the goal\'s setting) or NORMAL (no fsync per commit, for diagnosis)');
  process.exit(2);
}
for (const name of only) {
  if (!(PATHS as readonly string[]).includes(name)) {
    console.error(`unknown path '${name}' (known: ${PATHS.join(', ')})`);
    process.exit(2);
  }
}

// ---- the paths ------------------------------------------------------------------------------------------------

interface Path {
  name: PathName;
  run(op: BenchOp): Promise<LoadResult>;
  close(): Promise<void>;
}

const root = mkdtempSync(join(tmpdir(), 'gater-bench-relay-'));
const children: ChildProcess[] = [];
const load = { seconds, inFlight };

/** Installs the peer packages into `.bench/peers` unless they are there already. */
function ensurePeers(): void {
  if (PEER_PACKAGES.every((p) => existsSync(join(PEERS_DIR, 'node_modules', p.slice(0, p.lastIndexOf('@')), 'package.json')))) return;
  console.log(`installing ${PEER_PACKAGES.join(', ')} into ${PEERS_DIR} (benchmark only)`);
  const npm = spawnSync('npm', ['install', '--prefix', PEERS_DIR, '--no-save', '--no-audit', '--no-fund', ...PEER_PACKAGES], {
    stdio: 'inherit',
  });
  if (npm.status !== 0) throw new Error('npm install of the peer packages failed');
}

/** A child process speaking one JSON object per line. */
function child(script: string, argv: string[]): { proc: ChildProcess; next(): Promise<unknown>; send(line: unknown): void } {
  const proc = spawn(process.execPath, ['--expose-gc', script, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(proc);
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return {
    proc,
    async next() {
      const line = await Promise.race([
        lines.next(),
        sleep(START_TIMEOUT_MS + seconds * 2_000).then(() => {
          throw new Error(`${script} did not answer`);
        }),
      ]);
      if (line.done === true) throw new Error(`${script} exited`);
      return JSON.parse(String(line.value));
    },
    send: (line) => proc.stdin!.write(`${JSON.stringify(line)}\n`),
  };
}

async function endChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  proc.stdin?.end();
  const timer = setTimeout(() => proc.pid !== undefined && process.kill(proc.pid, 'SIGKILL'), 5_000);
  await once(proc, 'exit');
  clearTimeout(timer);
}

/** Paths 1 and 2: this process is a gater node hosting `local`; a gater process hosts `remote`. */
async function gaterPaths(): Promise<Path[]> {
  const cluster = uniqueCluster();
  const remote = new GaterProcess({
    name: 'relay-worker',
    cluster,
    stores: [REMOTE_STORE],
    env: {
      GATER_SQLITE_SYNCHRONOUS: synchronous,
      ...(args.profile === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${resolve(args.profile)}` }),
    },
  });
  const [caller] = await Promise.all([
    createTestApi({
      stores: [LOCAL_STORE],
      settings: {
        nodeName: 'relay-caller',
        sqliteSynchronous: synchronous,
        clusterName: cluster.name,
        clusterSecret: cluster.secret,
        gossipPort: cluster.gossipPort,
        gossipAddr: cluster.group,
      },
    }),
    remote.start(),
  ]);
  const api = caller.api;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await api.listStores()).some((s) => s.store === REMOTE_STORE && s.workers.length > 0)) {
    if (Date.now() > deadline) throw new Error('the caller never saw the remote worker');
    await sleep(50);
  }
  for (const store of [LOCAL_STORE, REMOTE_STORE]) {
    for (let i = 0; i < VERSION_STREAMS; i++) {
      const { args: a } = setupCall(store, i);
      await api.appendEvents(store, a.streamId, a.events);
    }
  }
  // Through the public API, as an application would call it.
  const via = (store: string) => (op: BenchOp): Promise<LoadResult> =>
    closedLoop(
      (i) =>
        op === 'streamVersion'
          ? api.getVersion(store, versionStream(i))
          : api.appendEvents(store, appendStream(i), [readingEvent(i, false)]),
      load,
    );
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await caller.close();
    await remote.stop();
    await remote.close();
  };
  return [
    { name: 'inprocess', run: via(LOCAL_STORE), close },
    { name: 'relay', run: via(REMOTE_STORE), close },
  ];
}

/** Path 3: the floor servers, one child per write mode. */
async function floorPath(mode: WriteMode): Promise<Path> {
  const server = child(new URL('./lib/rpc-floor.ts', import.meta.url).pathname, ['--serve', mode]);
  const { port } = (await server.next()) as { port: number };
  const client = await floorClient(port, mode);
  return {
    name: `floor-${mode}`,
    run: (op) => closedLoop((i) => client.call(benchCall(REMOTE_STORE, op, i)), load),
    close: async () => {
      client.close();
      await endChild(server.proc);
    },
  };
}

/** Path 4: Moleculer, a server broker with the store and a client broker that measures, each in its own process. */
async function moleculerPath(): Promise<Path> {
  const script = new URL('./lib/moleculer-peer.ts', import.meta.url).pathname;
  const [serverPort, clientPort] = [await freePort(), await freePort()];
  const moleculerDir = join(PEERS_DIR, 'node_modules');
  const server = child(script, ['server', moleculerDir, String(serverPort), String(clientPort), join(root, 'moleculer'), synchronous]);
  await server.next();
  const client = child(script, ['client', moleculerDir, String(clientPort), String(serverPort)]);
  await client.next();
  client.send({ op: 'setup' });
  await client.next();
  return {
    name: 'moleculer',
    run: async (op) => {
      client.send({ op, ...load });
      return (await client.next()) as LoadResult;
    },
    close: async () => {
      await endChild(client.proc);
      await endChild(server.proc);
    },
  };
}

// ---- the run --------------------------------------------------------------------------------------------------

type Results = Partial<Record<BenchOp, Partial<Record<PathName, LoadResult>>>>;
type AllRounds = Partial<Record<BenchOp, Partial<Record<PathName, LoadResult[]>>>>;

/**
 * The relayed path against Moleculer round by round (the two run seconds apart, so a burst of load from elsewhere
 * mostly hits both), as the median of those ratios: steadier on a shared machine than a ratio of two bests.
 */
function perRoundRatio(all: AllRounds, op: BenchOp): number | undefined {
  const relay = all[op]?.relay ?? [];
  const moleculer = all[op]?.moleculer ?? [];
  const ratios = relay.map((r, i) => r.callsPerSec / (moleculer[i]?.callsPerSec ?? Number.NaN)).filter(Number.isFinite);
  return ratios.length === 0 ? undefined : round(median(ratios), 2);
}

async function main(): Promise<void> {
  const machineBefore = machineNotes();
  ensurePeers();
  const peersRequire = createRequire(join(PEERS_DIR, 'node_modules', '/'));
  const codecs: Codec[] = [jsonCodec(), msgpackCodec((peersRequire('msgpackr') as { Packr: Parameters<typeof msgpackCodec>[0] }).Packr)];
  const codecFigures = args.codec ? compareCodecs(codecs) : [];
  printCodecs(codecFigures);

  const paths: Path[] = [];
  try {
    if (only.has('inprocess') || only.has('relay')) paths.push(...(await gaterPaths()).filter((p) => only.has(p.name)));
    if (only.has('floor-per-frame')) paths.push(await floorPath('per-frame'));
    if (only.has('floor-coalesced')) paths.push(await floorPath('coalesced'));
    if (only.has('moleculer')) paths.push(await moleculerPath());

    const results: Results = {};
    const rounds_: AllRounds = {};
    for (let r = 0; r < rounds; r++) {
      for (const op of OPS) {
        for (const path of paths) {
          const result = await path.run(op);
          console.log(
            `round ${r + 1} ${op.padEnd(13)} ${path.name.padEnd(16)} ${fmtRate(result.callsPerSec).padStart(9)}/s  ` +
              `p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms` +
              (result.errors > 0 ? `  ${result.errors} errors (${result.firstError})` : ''),
          );
          ((rounds_[op] ??= {})[path.name] ??= []).push(result);
          const byPath = (results[op] ??= {});
          const best = byPath[path.name];
          if (best === undefined || result.callsPerSec > best.callsPerSec) byPath[path.name] = result;
        }
      }
    }
    report(results, rounds_, codecFigures, machineBefore);
  } finally {
    for (const path of paths) await path.close().catch((err: unknown) => console.error(`closing ${path.name} failed:`, err));
  }
}

function printCodecs(figures: readonly CodecFigure[]): void {
  if (figures.length === 0) return;
  console.log('codec (encode + decode of one message)       json µs  msgpack µs   json B  msgpack B');
  for (const f of figures) {
    console.log(
      `${f.message.padEnd(42)}${String(f.roundTripUs['json']).padStart(10)}${String(f.roundTripUs['msgpack']).padStart(12)}` +
        `${String(f.bytes['json']).padStart(9)}${String(f.bytes['msgpack']).padStart(11)}`,
    );
  }
}

function report(results: Results, all: AllRounds, codecFigures: CodecFigure[], machineBefore: ReturnType<typeof machineNotes>): void {
  const machineAfter = machineNotes();
  console.log(
    `\nrelay benchmark: ${inFlight} calls in flight, best of ${rounds} round(s) of ${seconds} s each, SQLite synchronous=${synchronous}`,
  );
  console.log(`machine: ${describeMachine(machineBefore)} before, ${machineAfter.loadAverage.join(' / ')} after`);
  console.log('call           path                calls/s    p50 ms    p99 ms   ×moleculer  ×floor(coalesced)');
  const ratios: Record<string, Record<string, { toMoleculer?: number; toFloor?: number }>> = {};
  for (const op of OPS) {
    const byPath = results[op] ?? {};
    const moleculer = byPath['moleculer'];
    const floor = byPath['floor-coalesced'];
    for (const name of PATHS) {
      const r = byPath[name];
      if (r === undefined) continue;
      const toMoleculer = moleculer === undefined ? undefined : round(r.callsPerSec / moleculer.callsPerSec, 2);
      const toFloor = floor === undefined ? undefined : round(r.callsPerSec / floor.callsPerSec, 2);
      (ratios[op] ??= {})[name] = { ...(toMoleculer === undefined ? {} : { toMoleculer }), ...(toFloor === undefined ? {} : { toFloor }) };
      console.log(
        `${op.padEnd(15)}${name.padEnd(16)}${fmtRate(r.callsPerSec).padStart(11)}${r.p50Ms.toFixed(2).padStart(10)}` +
          `${r.p99Ms.toFixed(2).padStart(10)}${(toMoleculer?.toFixed(2) ?? '').padStart(13)}${(toFloor?.toFixed(2) ?? '').padStart(19)}`,
      );
    }
  }
  const relayCheap = results.streamVersion?.relay;
  const moleculerCheap = results.streamVersion?.moleculer;
  const relayAppend = results.append?.relay;
  const goals = {
    cheapCallsVsMoleculer: {
      goal: `>= ${GOAL_MOLECULER_RATIO}× Moleculer's calls/s with a lower p99`,
      ratio: relayCheap && moleculerCheap ? round(relayCheap.callsPerSec / moleculerCheap.callsPerSec, 2) : undefined,
      medianPerRoundRatio: perRoundRatio(all, 'streamVersion'),
      p99Ms: relayCheap && moleculerCheap ? { relay: relayCheap.p99Ms, moleculer: moleculerCheap.p99Ms } : undefined,
      met:
        relayCheap !== undefined &&
        moleculerCheap !== undefined &&
        relayCheap.callsPerSec >= GOAL_MOLECULER_RATIO * moleculerCheap.callsPerSec &&
        relayCheap.p99Ms < moleculerCheap.p99Ms,
    },
    relayedAppendsPerSec: {
      goal: GOAL_APPENDS_PER_S,
      value: relayAppend?.callsPerSec,
      met: (relayAppend?.callsPerSec ?? 0) >= GOAL_APPENDS_PER_S,
    },
  };
  const verdict = (met: boolean): string => (met ? 'met' : 'NOT MET');
  console.log(
    `relayed / Moleculer, median of per-round ratios: cheap calls ${perRoundRatio(all, 'streamVersion') ?? '-'}×, ` +
      `single-event appends ${perRoundRatio(all, 'append') ?? '-'}×`,
  );
  console.log(
    `goal relayed cheap calls >= ${GOAL_MOLECULER_RATIO}× Moleculer with a lower p99: ${verdict(goals.cheapCallsVsMoleculer.met)}` +
      (goals.cheapCallsVsMoleculer.ratio === undefined
        ? ''
        : ` (best against best ${goals.cheapCallsVsMoleculer.ratio}×, median of per-round ratios ` +
          `${goals.cheapCallsVsMoleculer.medianPerRoundRatio}×)`),
  );
  console.log(`goal relayed single-event appends >= ${fmtRate(GOAL_APPENDS_PER_S)}/s: ${verdict(goals.relayedAppendsPerSec.met)}`);
  writeReport(args.out, {
    inFlight,
    secondsPerRound: seconds,
    roundCount: rounds,
    synchronous,
    pnet: true,
    machine: { ...machineBefore, loadAverageAfter: machineAfter.loadAverage },
    codec: codecFigures,
    results,
    rounds: all,
    ratios,
    appendsPerRoundRatioToMoleculer: perRoundRatio(all, 'append'),
    goals,
  });
}

let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  for (const proc of children) if (proc.pid !== undefined && proc.exitCode === null) process.kill(proc.pid, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
  process.exit(130);
});
try {
  await main();
} finally {
  if (!interrupted) {
    for (const proc of children) await endChild(proc);
    rmSync(root, { recursive: true, force: true });
  }
}
