/**
 * Store benchmark: append and read throughput of an event store backend, against the floor of raw driver inserts of
 * the same rows, all in one run with `synchronous=FULL`. Every phase is bounded in events and in time (the whole run
 * stays under about 80 s even on a slow machine); the data lives in a temporary directory removed at the end.
 *
 * Phases: the floor (raw inserts, batches of 100 per transaction) and (c) batches of 100 with expected version and
 * event ids, alternated over a few rounds, best of each; the same from 4 concurrent callers; (a) single-event
 * appends from one sequential caller; (b) from 100 concurrent callers; (d) reads of 100k events by stream and as
 * `$all` pages. Each figure is printed with its ratio to the floor and written as JSON.
 *
 * PostgreSQL (`--backend postgres`, or `all` for both in one run) runs the same workload on the server at `--pg-url`,
 * or on a temporary server this script starts from Debian's binaries (removed at the end), with the server's
 * `synchronous_commit` (on). It adds (e) two writer nodes on one store: two store instances with their own
 * connections, two callers each, against (c)'s four callers on one node.
 *
 *   scripts/bench/store [--backend sqlite|postgres|all] [--pg-url postgres://...] [--out .bench/store.json]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { EventStore } from '../../src/store/event-store.ts';
import type { NewEvent } from '../../src/store/types.ts';
import { readingEvent } from './lib/bench-events.ts';
import { BACKENDS, postgresBackend, type BenchBackend } from './lib/store-backends.ts';
import { startTestPostgres, type TestPostgres } from '../../test/support/postgres.ts';

const GOAL_BATCHED_EVENTS_PER_S = 50_000;
const GOAL_BATCHED_FLOOR_RATIO = 0.7;
const GOAL_CONCURRENT_EVENTS_PER_S = 15_000;
/** PostgreSQL: batched appends with synchronous_commit=on, and two writer nodes together faster than one. */
const GOAL_PG_BATCHED_EVENTS_PER_S = 40_000;

/** Rounds of the batched and floor phases, alternated; the best of each counts (the machine is shared). */
const BATCH_ROUNDS = 3;
const BATCH_SIZE = 100;
const BATCHES = 1_000;
const BATCH_STREAMS = 10;
const SEQUENTIAL_EVENTS = 10_000;
const CONCURRENT_CALLERS = 100;
const CONCURRENT_EVENTS = 100_000;
const BATCH_CALLERS = 4;
/** Callers per node in the two-writer-nodes phase (two nodes: as many callers as (c) on one node). */
const TWO_NODE_CALLERS = BATCH_CALLERS / 2;
const READ_EVENTS = 100_000;
const READ_PAGE = 1_000;
/** Most seconds any one phase may run; it stops early and reports what it did. */
const PHASE_MAX_S = 6;

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
    out: { type: 'string', default: '.bench/store.json' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const BACKEND_NAMES = [...Object.keys(BACKENDS), 'postgres'];
if (args.help) {
  console.log(`usage: scripts/bench/store [--backend ${[...BACKEND_NAMES, 'all'].join('|')}] [--pg-url URL] [--out FILE]`);
  process.exit(0);
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
process.once('SIGINT', () => {
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
  const backend = postgresBackend(url);
  return { backend, platform: await backend.describe!(), cleanup: () => backend.cleanup() };
}

async function run(b: BenchBackend): Promise<Record<string, Figure>> {
  const batches = Array.from({ length: BATCHES }, (_, k) =>
    Array.from({ length: BATCH_SIZE }, (_, i) => readingEvent(k * BATCH_SIZE + i, true)),
  );
  let floor: Figure | undefined;
  let batched: Figure | undefined;
  for (let round = 0; round < BATCH_ROUNDS; round++) {
    const f = await b.floor(freshDir(), batches, BATCH_STREAMS, PHASE_MAX_S);
    floor = best(floor, figure(f.events, f.seconds));
    batched = best(batched, await withStore(b, (store) => batchedAppends(store, batches)));
  }
  const results: Record<string, Figure> = {
    floorRawBatched: floor!,
    batchedAppends: batched!,
    batchedAppends4Callers: await withStore(b, (store) => concurrentBatchedAppends(store)),
    sequentialSingleAppends: await withStore(b, (store) => sequentialAppends(store)),
    concurrentSingleAppends: await withStore(b, (store) => concurrentAppends(store)),
    ...(await withStore(b, (store) => reads(store))),
  };
  if (b.openPeer !== undefined) results['twoWriterNodes'] = await withStore(b, (store) => twoWriterNodes(b, store));
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

/** Batches of 100 from a few concurrent callers: several batches share one commit. */
async function concurrentBatchedAppends(store: EventStore): Promise<Figure> {
  const perCaller = Math.floor(BATCHES / BATCH_CALLERS);
  const batches = Array.from({ length: BATCH_CALLERS }, (_, c) =>
    Array.from({ length: perCaller }, (_, k) =>
      Array.from({ length: BATCH_SIZE }, (_, i) => readingEvent((c * perCaller + k) * BATCH_SIZE + i, true)),
    ),
  );
  settleHeap();
  const deadline = performance.now() + PHASE_MAX_S * 1000;
  let events = 0;
  const started = performance.now();
  await Promise.all(
    batches.map(async (mine, c) => {
      let version = -1;
      for (let k = 0; k < mine.length && performance.now() < deadline; k++) {
        version = (await store.append(`callers-${c}`, mine[k]!, { expectedVersion: version })).version;
        events += BATCH_SIZE;
      }
    }),
  );
  return figure(events, (performance.now() - started) / 1000);
}

/**
 * (e) Two writer nodes on one store: a second store instance (its own pool, its own group commit), two callers on
 * each node, batches of 100 with expected versions; the same offered load as (c) on one node.
 */
async function twoWriterNodes(b: BenchBackend, store: EventStore): Promise<Figure> {
  const peer = await b.openPeer!(store);
  try {
    const nodes = [store, peer];
    const callers = nodes.length * TWO_NODE_CALLERS;
    const perCaller = Math.floor(BATCHES / callers);
    const batches = Array.from({ length: callers }, (_, c) =>
      Array.from({ length: perCaller }, (_, k) =>
        Array.from({ length: BATCH_SIZE }, (_, i) => readingEvent((c * perCaller + k) * BATCH_SIZE + i, true)),
      ),
    );
    settleHeap();
    const deadline = performance.now() + PHASE_MAX_S * 1000;
    let events = 0;
    const started = performance.now();
    await Promise.all(
      batches.map(async (mine, c) => {
        const node = nodes[c % nodes.length]!;
        let version = -1;
        for (let k = 0; k < mine.length && performance.now() < deadline; k++) {
          version = (await node.append(`nodes-${c}`, mine[k]!, { expectedVersion: version })).version;
          events += BATCH_SIZE;
        }
      }),
    );
    return figure(events, (performance.now() - started) / 1000);
  } finally {
    await peer.close();
  }
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
        goal: `> batchedAppends4Callers (${results['batchedAppends4Callers']!.eventsPerSec})`,
        met: results['twoWriterNodes']!.eventsPerSec > results['batchedAppends4Callers']!.eventsPerSec,
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
    console.log('');
    return {
      backend,
      ...(backend === 'postgres' ? { postgres: platform } : { synchronous: 'FULL' }),
      node: process.version,
      cores: cpus().length,
      date: new Date().toISOString(),
      results,
      goals,
    };
  });
  mkdirSync(dirname(args.out), { recursive: true });
  // One backend: its figures as before; several: a list of them.
  writeFileSync(args.out, JSON.stringify(out.length === 1 ? out[0] : out, null, 2) + '\n');
  console.log(`written to ${args.out}`);
}
