/**
 * Store benchmark: append and read throughput of an event store backend, against the floor of raw driver inserts of
 * the same rows, all in one run with `synchronous=FULL`. Every phase is bounded in events and in time (a run takes
 * about a minute, and stays under two even on a slow machine); the data lives in a temporary directory removed at
 * the end.
 *
 * Phases: the floor (raw inserts, batches of 100 per transaction), (c) batches of 100 with expected version and
 * event ids, and the same from 4 concurrent callers, alternated over a few rounds, each on a fresh store, best of
 * each (the machine is shared: a burst of other work hits them alike); (a) single-event appends from one sequential
 * caller; (b) from 100 concurrent callers; (d) reads of 100k events by stream and as `$all` pages. Each figure is
 * printed with its ratio to the floor and written as JSON.
 *
 * PostgreSQL (`--backend postgres`, or `all` for both in one run) runs the same workload on the server at `--pg-url`,
 * or on a temporary server this script starts from Debian's binaries (removed at the end), with the server's
 * `synchronous_commit` (on). It adds (e) two writer nodes on one store, in the rounds beside (c): this process and
 * a writer node in a child process (lib/pg-writer-node.ts, its own thread, connections and group commit), two
 * callers each, started together and timed until both are done. Its goal compares it with one node carrying one
 * node's share, two callers (what a second node adds); its ratio to (c)'s four callers on one node (the same callers
 * spread over two nodes) is reported beside it.
 * `--pg-max-concurrent-batches` opens every store, both nodes' included, with that `maxConcurrentBatches` (the
 * store's default otherwise), for experiments.
 *
 *   scripts/bench/store [--backend sqlite|postgres|all] [--pg-url postgres://...] [--pg-max-concurrent-batches N]
 *                       [--out .bench/store.json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { EventStore } from '../../src/store/event-store.ts';
import type { NewEvent } from '../../src/store/types.ts';
import { appendFromCallers, callerBatches } from './lib/batch-callers.ts';
import { readingEvent } from './lib/bench-events.ts';
import type { WriterNodeConfig, WriterNodeResult } from './lib/pg-writer-node.ts';
import { BACKENDS, postgresBackend, type BenchBackend, type PostgresBenchOptions } from './lib/store-backends.ts';
import { startTestPostgres, type TestPostgres } from '../../test/support/postgres.ts';

const GOAL_BATCHED_EVENTS_PER_S = 50_000;
const GOAL_BATCHED_FLOOR_RATIO = 0.7;
const GOAL_CONCURRENT_EVENTS_PER_S = 15_000;
/** PostgreSQL: batched appends with synchronous_commit=on, and two writer nodes together faster than one. */
const GOAL_PG_BATCHED_EVENTS_PER_S = 40_000;

/** Rounds of the floor and the batched phases (one caller, 4 callers, two nodes), alternated; best of each counts. */
const BATCH_ROUNDS = 3;
const BATCH_SIZE = 100;
const BATCHES = 1_000;
const BATCH_STREAMS = 10;
const SEQUENTIAL_EVENTS = 10_000;
const CONCURRENT_CALLERS = 100;
const CONCURRENT_EVENTS = 100_000;
const BATCH_CALLERS = 4;
/** Callers per node in the two-writer-nodes phase, and of the one node it is compared with. */
const TWO_NODE_CALLERS = BATCH_CALLERS / 2;
const READ_EVENTS = 100_000;
const READ_PAGE = 1_000;
/** Most seconds any one phase may run; it stops early and reports what it did. */
const PHASE_MAX_S = 6;
/** Most milliseconds the writer node of (e) may take to start, open the store and warm up. */
const WRITER_NODE_START_MS = 20_000;
/** Milliseconds past the phase's end the writer node may take to answer (an append in flight at the deadline). */
const WRITER_NODE_GRACE_MS = 10_000;
/** Milliseconds the writer node may take to exit once its stdin is closed, before it is killed. */
const WRITER_NODE_EXIT_MS = 5_000;

interface Figure {
  events: number;
  seconds: number;
  eventsPerSec: number;
  ratioToFloor?: number;
}

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'sqlite' },
    'pg-url': { type: 'string' },
    'pg-max-concurrent-batches': { type: 'string' },
    out: { type: 'string', default: '.bench/store.json' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const BACKEND_NAMES = [...Object.keys(BACKENDS), 'postgres'];
if (args.help) {
  console.log(
    `usage: scripts/bench/store [--backend ${[...BACKEND_NAMES, 'all'].join('|')}] [--pg-url URL] ` +
      '[--pg-max-concurrent-batches N] [--out FILE]',
  );
  process.exit(0);
}
const pgOptions: PostgresBenchOptions = {};
if (args['pg-max-concurrent-batches'] !== undefined) {
  const n = Number(args['pg-max-concurrent-batches']);
  if (!Number.isInteger(n) || n < 1) {
    console.error('--pg-max-concurrent-batches must be a positive integer');
    process.exit(2);
  }
  pgOptions.maxConcurrentBatches = n;
}
const wanted = args.backend === 'all' ? BACKEND_NAMES : [args.backend];
for (const name of wanted) {
  if (!BACKEND_NAMES.includes(name)) {
    console.error(`unknown backend '${name}' (known: ${BACKEND_NAMES.join(', ')}, all)`);
    process.exit(2);
  }
}

const root = mkdtempSync(join(tmpdir(), 'gater-bench-store-'));
let storeCount = 0;
let pgServer: TestPostgres | undefined;
/** The writer nodes of (e) still running: killed on SIGINT. */
const children = new Set<ChildProcess>();
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  for (const proc of children) kill(proc);
  rmSync(root, { recursive: true, force: true });
  void (pgServer?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
});
try {
  const runs: Run[] = [];
  for (const name of wanted) {
    const { backend, platform, cleanup } = await backendNamed(name);
    try {
      runs.push({ backend: name, platform, results: await run(backend) });
    } finally {
      await cleanup();
    }
  }
  report(runs);
} catch (err) {
  // The phase in flight failed because the handler above is stopping the server: let it finish and exit.
  if (interrupted) await new Promise(() => {});
  throw err;
} finally {
  rmSync(root, { recursive: true, force: true });
  await pgServer?.stop();
}

interface Run {
  backend: string;
  /** What the backend ran on (PostgreSQL's version and commit mode). */
  platform: string | undefined;
  results: Record<string, Figure>;
}

/** The backend called `name`; postgres on `--pg-url`, or on a temporary server started here. */
async function backendNamed(name: string): Promise<{ backend: BenchBackend; platform?: string; cleanup(): Promise<void> }> {
  if (name !== 'postgres') return { backend: BACKENDS[name]!, cleanup: async () => {} };
  let url = args['pg-url'];
  if (url === undefined) {
    const server = await startTestPostgres();
    if ('skip' in server) throw new Error(`cannot start a PostgreSQL server (${server.skip}); give --pg-url`);
    pgServer = server;
    url = await server.createDatabase();
  }
  const backend = postgresBackend(url, pgOptions);
  return { backend, platform: await backend.describe!(), cleanup: () => backend.cleanup() };
}

async function run(b: BenchBackend): Promise<Record<string, Figure>> {
  const batches = Array.from({ length: BATCHES }, (_, k) =>
    Array.from({ length: BATCH_SIZE }, (_, i) => readingEvent(k * BATCH_SIZE + i, true)),
  );
  let floor: Figure | undefined;
  let batched: Figure | undefined;
  let batched2: Figure | undefined;
  let batched4: Figure | undefined;
  let twoNodes: Figure | undefined;
  for (let round = 0; round < BATCH_ROUNDS; round++) {
    const f = await b.floor(freshDir(), batches, BATCH_STREAMS, PHASE_MAX_S);
    floor = best(floor, figure(f.events, f.seconds));
    batched = best(batched, await withStore(b, (store) => batchedAppends(store, batches)));
    batched4 = best(batched4, await withStore(b, (store) => concurrentBatchedAppends(store, BATCH_CALLERS)));
    if (b.peerInit !== undefined) {
      batched2 = best(batched2, await withStore(b, (store) => concurrentBatchedAppends(store, TWO_NODE_CALLERS)));
      twoNodes = best(twoNodes, await withStore(b, (store) => twoWriterNodes(b, store)));
    }
  }
  const results: Record<string, Figure> = {
    floorRawBatched: floor!,
    batchedAppends: batched!,
    ...(batched2 === undefined ? {} : { batchedAppends2Callers: batched2 }),
    batchedAppends4Callers: batched4!,
    sequentialSingleAppends: await withStore(b, (store) => sequentialAppends(store)),
    concurrentSingleAppends: await withStore(b, (store) => concurrentAppends(store)),
    ...(await withStore(b, (store) => reads(store))),
  };
  if (twoNodes !== undefined) results['twoWriterNodes'] = twoNodes;
  for (const [name, f] of Object.entries(results)) {
    if (name !== 'floorRawBatched') f.ratioToFloor = round2(f.eventsPerSec / floor!.eventsPerSec);
  }
  return results;
}

/** (c) Batches of 100 from one caller, each with its expected version and caller-supplied event ids. */
async function batchedAppends(store: EventStore, batches: readonly (readonly NewEvent[])[]): Promise<Figure> {
  const versions = new Array<number>(BATCH_STREAMS).fill(-1);
  settleHeap();
  const deadline = performance.now() + PHASE_MAX_S * 1000;
  let events = 0;
  const started = performance.now();
  for (let k = 0; k < batches.length && performance.now() < deadline; k++) {
    const s = k % BATCH_STREAMS;
    const batch = batches[k]!;
    const result = await store.append(`batch-${s}`, batch, { expectedVersion: versions[s]! });
    versions[s] = result.version;
    events += batch.length;
  }
  return figure(events, (performance.now() - started) / 1000);
}

/** (c) from concurrent callers on one node, each on its own stream: several callers' batches share a commit. */
async function concurrentBatchedAppends(store: EventStore, callerCount: number): Promise<Figure> {
  const callers = Array.from({ length: callerCount }, (_, c) => c);
  const batches = callerBatches(callers, Math.floor(BATCHES / callerCount), BATCH_SIZE);
  settleHeap();
  const started = performance.now();
  const events = await appendFromCallers(store, 'callers', callers, batches, started + PHASE_MAX_S * 1000);
  return figure(events, (performance.now() - started) / 1000);
}

/**
 * (e) Two writer nodes on one store: this process and a writer node in a child process (its own thread, its own
 * connections and group commit), two callers each with (c)'s workload: each node offers what (c) with two callers
 * offers one node, and together what (c) with four callers offers one node.
 * Both start at `go`; the figure is all their events over the time from `go` until both are done.
 */
async function twoWriterNodes(b: BenchBackend, store: EventStore): Promise<Figure> {
  const perCaller = Math.floor(BATCHES / BATCH_CALLERS);
  const ours = Array.from({ length: TWO_NODE_CALLERS }, (_, c) => c);
  const theirs = Array.from({ length: TWO_NODE_CALLERS }, (_, c) => TWO_NODE_CALLERS + c);
  const node = startWriterNode({
    store: b.peerInit!(store),
    callers: theirs,
    batchesPerCaller: perCaller,
    batchSize: BATCH_SIZE,
    maxSeconds: PHASE_MAX_S,
  });
  try {
    const batches = callerBatches(ours, perCaller, BATCH_SIZE); // built while the node starts
    await node.ready();
    settleHeap();
    const started = performance.now();
    node.go();
    const [own, other] = await Promise.allSettled([
      appendFromCallers(store, 'nodes', ours, batches, started + PHASE_MAX_S * 1000),
      node.result(),
    ]);
    const seconds = (performance.now() - started) / 1000;
    if (own.status === 'rejected') throw own.reason;
    if (other.status === 'rejected') throw other.reason;
    return figure(own.value + other.value.events, seconds);
  } finally {
    await node.end();
  }
}

interface WriterNode {
  /** Resolves once the node has opened the store and is ready to run. */
  ready(): Promise<void>;
  /** Starts its callers. */
  go(): void;
  /** What it appended, once its callers are done. */
  result(): Promise<WriterNodeResult>;
  /** Ends the process: at once if it has not finished, killed if it does not exit in time. Never rejects. */
  end(): Promise<void>;
}

/** Starts lib/pg-writer-node.ts with `config` (see its protocol); every wait on it is bounded. */
function startWriterNode(config: WriterNodeConfig): WriterNode {
  const script = new URL('./lib/pg-writer-node.ts', import.meta.url).pathname;
  const proc = spawn(process.execPath, ['--expose-gc', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  // A failed spawn or a write to a node that died shows as its stdout ending, reported by `next`.
  proc.once('error', () => {});
  proc.stdin!.on('error', () => {});
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const next = async (what: string, timeoutMs: number): Promise<unknown> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the writer node did not ${what} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const line = await Promise.race([lines.next(), timeout]);
      if (line.done === true) throw new Error(`the writer node exited before it could ${what}`);
      return JSON.parse(String(line.value));
    } finally {
      clearTimeout(timer);
    }
  };
  proc.stdin!.write(`${JSON.stringify(config)}\n`);
  return {
    ready: async () => void (await next('get ready', WRITER_NODE_START_MS)),
    go: () => void proc.stdin!.write('go\n'),
    result: async () => (await next('finish', PHASE_MAX_S * 1000 + WRITER_NODE_GRACE_MS)) as WriterNodeResult,
    async end() {
      if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.stdin!.end(); // an unfinished node exits on this at once; a finished one is closing its store
      const timer = setTimeout(() => kill(proc), WRITER_NODE_EXIT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** SIGKILL by its pid, if it is still running. */
function kill(proc: ChildProcess): void {
  if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, 'SIGKILL');
}

/** (a) One event per append, one caller, each append awaited before the next. */
async function sequentialAppends(store: EventStore): Promise<Figure> {
  settleHeap();
  const deadline = performance.now() + PHASE_MAX_S * 1000;
  let events = 0;
  const started = performance.now();
  while (events < SEQUENTIAL_EVENTS && performance.now() < deadline) {
    await store.append(`single-${events % 100}`, [readingEvent(events, false)]);
    events++;
  }
  return figure(events, (performance.now() - started) / 1000);
}

/** (b) One event per append, 100 callers at once, each on its own stream. */
async function concurrentAppends(store: EventStore): Promise<Figure> {
  settleHeap();
  const deadline = performance.now() + PHASE_MAX_S * 1000;
  let issued = 0;
  let events = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENT_CALLERS }, async (_, c) => {
      while (issued < CONCURRENT_EVENTS && performance.now() < deadline) {
        const i = issued++;
        await store.append(`caller-${c}`, [readingEvent(i, false)]);
        events++;
      }
    }),
  );
  return figure(events, (performance.now() - started) / 1000);
}

/** (d) 100k events read back, by stream and as `$all` pages. */
async function reads(store: EventStore): Promise<Record<string, Figure>> {
  for (let written = 0; written < READ_EVENTS; written += READ_PAGE) {
    const page = Array.from({ length: READ_PAGE }, (_, i) => readingEvent(written + i, false));
    await store.append('reads', page);
  }
  let events = 0;
  settleHeap();
  let started = performance.now();
  while (events < READ_EVENTS) {
    const page = await store.readStream('reads', { fromVersion: events, count: READ_PAGE });
    if (page.length === 0) break;
    events += page.length;
  }
  const byStream = figure(events, (performance.now() - started) / 1000);

  events = 0;
  let from = 0;
  settleHeap();
  started = performance.now();
  while (events < READ_EVENTS) {
    const page = await store.readFiltered({}, from, READ_PAGE);
    if (page.events.length === 0) break;
    events += page.events.length;
    from = page.scannedTo + 1;
  }
  return { readStreamForward: byStream, readAllFiltered: figure(events, (performance.now() - started) / 1000) };
}

async function withStore<T>(b: BenchBackend, fn: (store: EventStore) => Promise<T>): Promise<T> {
  const store = await b.open(freshDir(), 'bench');
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function freshDir(): string {
  const dir = join(root, `run-${storeCount++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Collects garbage before a timed phase (the wrapper runs node with --expose-gc), so that the test data built for
 * it is promoted out of the young generation first instead of being copied by scavenges inside the timed window.
 */
function settleHeap(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

function figure(events: number, seconds: number): Figure {
  return { events, seconds: round2(seconds), eventsPerSec: Math.round(events / seconds) };
}

function best(a: Figure | undefined, b: Figure): Figure {
  return a === undefined || b.eventsPerSec > a.eventsPerSec ? b : a;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function goalsOf(backend: string, results: Record<string, Figure>): Record<string, { goal: number | string; met: boolean }> {
  if (backend === 'postgres') {
    return {
      batchedEventsPerSec: {
        goal: GOAL_PG_BATCHED_EVENTS_PER_S,
        met: results['batchedAppends']!.eventsPerSec >= GOAL_PG_BATCHED_EVENTS_PER_S,
      },
      twoWriterNodesFasterThanOne: {
        goal: `> batchedAppends2Callers (${results['batchedAppends2Callers']!.eventsPerSec}), one node with one node's callers`,
        met: results['twoWriterNodes']!.eventsPerSec > results['batchedAppends2Callers']!.eventsPerSec,
      },
    };
  }
  return {
    batchedEventsPerSec: {
      goal: GOAL_BATCHED_EVENTS_PER_S,
      met: results['batchedAppends']!.eventsPerSec >= GOAL_BATCHED_EVENTS_PER_S,
    },
    batchedRatioToFloor: {
      goal: GOAL_BATCHED_FLOOR_RATIO,
      met: (results['batchedAppends']!.ratioToFloor ?? 0) >= GOAL_BATCHED_FLOOR_RATIO,
    },
    concurrentSingleEventsPerSec: {
      goal: GOAL_CONCURRENT_EVENTS_PER_S,
      met: results['concurrentSingleAppends']!.eventsPerSec >= GOAL_CONCURRENT_EVENTS_PER_S,
    },
  };
}

/** Two writer nodes over one node with all of their callers: what spreading the same load over two nodes gives. */
function spreadRatio(results: Record<string, Figure>): number | undefined {
  const two = results['twoWriterNodes'];
  const one = results['batchedAppends4Callers'];
  return two === undefined || one === undefined ? undefined : round2(two.eventsPerSec / one.eventsPerSec);
}

function report(runs: readonly Run[]): void {
  const out = runs.map(({ backend, platform, results }) => {
    const goals = goalsOf(backend, results);
    const durability = backend === 'postgres' ? (platform ?? 'postgres') : 'synchronous=FULL';
    console.log(`store benchmark: backend ${backend}, ${durability}, ${cpus().length} cores, Node ${process.version}`);
    console.log(
      `${'phase'.padEnd(26)}${'events'.padStart(9)}${'seconds'.padStart(9)}${'events/s'.padStart(11)}  vs floor`,
    );
    for (const [name, f] of Object.entries(results)) {
      const ratio = f.ratioToFloor === undefined ? '' : `${(f.ratioToFloor * 100).toFixed(0)}%`;
      console.log(
        `${name.padEnd(26)}${String(f.events).padStart(9)}${f.seconds.toFixed(2).padStart(9)}` +
          `${f.eventsPerSec.toLocaleString('en-US').padStart(11)}  ${ratio}`,
      );
    }
    for (const [name, g] of Object.entries(goals)) console.log(`goal ${name} >= ${g.goal}: ${g.met ? 'met' : 'NOT MET'}`);
    const spread = spreadRatio(results);
    if (spread !== undefined) {
      console.log(`the same 4 callers on two writer nodes rather than one: ${spread.toFixed(2)}x (reported, no goal)`);
    }
    console.log('');
    return {
      backend,
      ...(backend === 'postgres' ? { postgres: platform } : { synchronous: 'FULL' }),
      node: process.version,
      cores: cpus().length,
      date: new Date().toISOString(),
      results,
      goals,
      ...(spreadRatio(results) === undefined ? {} : { twoWriterNodesOverOneNode4Callers: spreadRatio(results) }),
    };
  });
  mkdirSync(dirname(args.out), { recursive: true });
  // One backend: its figures as before; several: a list of them.
  writeFileSync(args.out, JSON.stringify(out.length === 1 ? out[0] : out, null, 2) + '\n');
  console.log(`written to ${args.out}`);
}
