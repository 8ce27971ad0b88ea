/**
 * Discovery benchmark: N processes (test/fixtures/discovery-node.ts) gossiping by multicast on 127.0.0.1 with the
 * default settings (1 s interval, suspect after 3 s, dead after 5 s). For each N and run it measures
 * - full view: from the moment the last node calls start() until every node sees all the others alive;
 * - suspect and dead: from a SIGKILL of one node, at a random moment of a settled cluster (1–2 s after the full
 *   view), until every survivor has marked it suspect, then dead. The victim was last heard up to one jittered
 *   interval before the kill, so these land between the window minus 1.2 s and the window.
 * Times come from the processes' own clocks (Unix ms with sub-millisecond precision, one host), not from when their
 * output reaches us. The median of the runs is reported. The whole run is bounded: past its time budget, remaining
 * runs are skipped and the report says so.
 *
 *   scripts/bench/discovery [--sizes 3,5,10] [--runs 3] [--out .bench/discovery.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEAD_AFTER_INTERVALS,
  DEFAULT_INTERVAL_MS,
  INTERVAL_JITTER_RATIO,
  SUSPECT_AFTER_INTERVALS,
} from '../../src/discovery/constants.ts';
import { NodeProcess, killAll } from '../../test/discovery/support/node-process.ts';

const GOAL_FULL_VIEW_MS = 1_000;
const DEAD_AFTER_MS = DEAD_AFTER_INTERVALS * DEFAULT_INTERVAL_MS;
/** The documented window plus one interval. */
const GOAL_DEAD_SEEN_MS = DEAD_AFTER_MS + DEFAULT_INTERVAL_MS;
/** The whole benchmark stops starting runs past this. */
const BUDGET_MS = 110_000;
const STEP_TIMEOUT_MS = 15_000;
/** Least time between the full view and the kill, so that the victim beacons on its own schedule by then. */
const SETTLE_MS = 1_000;
const SECRET = 'discovery-benchmark-secret-0123456789';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '3,5,10' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: '.bench/discovery.json' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log('usage: scripts/bench/discovery [--sizes 3,5,10] [--runs 3] [--out FILE]');
  process.exit(0);
}
const sizes = args.sizes.split(',').map(Number);
const runs = Number(args.runs);
if (sizes.some((n) => !Number.isInteger(n) || n < 2 || n > 32) || !Number.isInteger(runs) || runs < 1 || runs > 20) {
  console.error('--sizes takes integers from 2 to 32, --runs an integer from 1 to 20');
  process.exit(2);
}

interface Run {
  fullViewMs: number;
  suspectSeenMs: number;
  deadSeenMs: number;
}

const now = (): number => performance.timeOrigin + performance.now();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

async function oneRun(size: number): Promise<Run> {
  const port = 46_000 + Math.floor(Math.random() * 3_000);
  const group = `239.255.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
  const incarnation = Date.now();
  const names = Array.from({ length: size }, (_, i) => `bench-${i + 1}`);
  const nodes = names.map(
    (name) =>
      new NodeProcess(name, {
        clusterName: 'bench',
        nodeId: name,
        incarnation,
        secrets: { primary: SECRET },
        port,
        group,
        advertise: { addrs: [`/ip4/127.0.0.1/tcp/45893/p2p/${name}`], roles: ['store'], stores: ['default'] },
      }),
  );
  try {
    const ready = await Promise.all(nodes.map((node) => node.ready()));
    const lastStart = Math.max(...ready.map((line) => line.startedAt ?? line.at));
    const fullView = await Promise.all(
      nodes.map((node) =>
        node.waitFor(
          'a full view',
          () => node.lines.find((l) => (l.peers ?? []).filter((p) => p.state === 'alive').length === size - 1),
          STEP_TIMEOUT_MS,
        ),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS + Math.random() * DEFAULT_INTERVAL_MS));
    const victim = nodes[nodes.length - 1] as NodeProcess;
    const survivors = nodes.slice(0, -1);
    const killedAt = now();
    victim.kill('SIGKILL');
    const seen = (node: NodeProcess, state: 'suspect' | 'dead') =>
      node.waitFor(
        `${victim.name} ${state}`,
        () => node.lines.find((l) => l.peer?.nodeId === victim.name && l.peer.state === state),
        STEP_TIMEOUT_MS,
      );
    const suspect = await Promise.all(survivors.map((node) => seen(node, 'suspect')));
    const dead = await Promise.all(survivors.map((node) => seen(node, 'dead')));
    return {
      fullViewMs: Math.max(...fullView.map((l) => l.at)) - lastStart,
      suspectSeenMs: Math.max(...suspect.map((l) => l.at)) - killedAt,
      deadSeenMs: Math.max(...dead.map((l) => l.at)) - killedAt,
    };
  } finally {
    await killAll();
  }
}

const began = Date.now();
const results: Array<{ nodes: number; runs: Run[]; median: Run }> = [];
let skipped = 0;
for (const size of sizes) {
  const done: Run[] = [];
  for (let i = 0; i < runs; i += 1) {
    // A run with the default windows takes about the dead window plus start-up; do not begin one that cannot end.
    if (Date.now() - began > BUDGET_MS - DEAD_AFTER_MS - SETTLE_MS - 6_000) {
      skipped += 1;
      continue;
    }
    const run = await oneRun(size);
    done.push(run);
    console.log(
      `N=${String(size).padStart(2)} run ${i + 1}: full view ${run.fullViewMs.toFixed(1)} ms, ` +
        `suspect ${run.suspectSeenMs.toFixed(0)} ms, dead ${run.deadSeenMs.toFixed(0)} ms after SIGKILL`,
    );
  }
  if (done.length === 0) continue;
  results.push({
    nodes: size,
    runs: done.map((r) => ({
      fullViewMs: round1(r.fullViewMs),
      suspectSeenMs: round1(r.suspectSeenMs),
      deadSeenMs: round1(r.deadSeenMs),
    })),
    median: {
      fullViewMs: round1(median(done.map((r) => r.fullViewMs))),
      suspectSeenMs: round1(median(done.map((r) => r.suspectSeenMs))),
      deadSeenMs: round1(median(done.map((r) => r.deadSeenMs))),
    },
  });
}

const largest = results.find((r) => r.nodes === 10) ?? results[results.length - 1];
const goals = {
  fullViewMs: {
    goal: GOAL_FULL_VIEW_MS,
    nodes: largest?.nodes,
    met: (largest?.median.fullViewMs ?? Infinity) <= GOAL_FULL_VIEW_MS,
  },
  deadSeenMs: { goal: GOAL_DEAD_SEEN_MS, met: results.every((r) => r.median.deadSeenMs <= GOAL_DEAD_SEEN_MS) },
};

console.log(
  `\ndiscovery benchmark: loopback multicast, interval ${DEFAULT_INTERVAL_MS} ms ±${INTERVAL_JITTER_RATIO * 100}%, ` +
    `suspect after ${SUSPECT_AFTER_INTERVALS * DEFAULT_INTERVAL_MS} ms, dead after ${DEAD_AFTER_MS} ms; ` +
    `${cpus().length} cores, Node ${process.version}; median of ${runs} run(s)`,
);
console.log(`${'nodes'.padStart(5)}${'full view ms'.padStart(14)}${'suspect ms'.padStart(12)}${'dead ms'.padStart(10)}`);
for (const r of results) {
  console.log(
    `${String(r.nodes).padStart(5)}${r.median.fullViewMs.toFixed(1).padStart(14)}` +
      `${r.median.suspectSeenMs.toFixed(0).padStart(12)}${r.median.deadSeenMs.toFixed(0).padStart(10)}`,
  );
}
const verdict = (met: boolean): string => (met ? 'met' : 'NOT MET');
console.log(`goal full view of ${goals.fullViewMs.nodes} nodes <= ${GOAL_FULL_VIEW_MS} ms: ${verdict(goals.fullViewMs.met)}`);
console.log(`goal dead seen everywhere <= ${GOAL_DEAD_SEEN_MS} ms after SIGKILL: ${verdict(goals.deadSeenMs.met)}`);
if (skipped > 0) console.log(`${skipped} run(s) skipped to stay within the ${BUDGET_MS / 1000} s budget`);

mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(
  args.out,
  JSON.stringify(
    {
      transport: 'multicast on 127.0.0.1',
      intervalMs: DEFAULT_INTERVAL_MS,
      suspectAfterMs: SUSPECT_AFTER_INTERVALS * DEFAULT_INTERVAL_MS,
      deadAfterMs: DEAD_AFTER_MS,
      node: process.version,
      cores: cpus().length,
      date: new Date().toISOString(),
      runsPerSize: runs,
      skippedRuns: skipped,
      results,
      goals,
    },
    null,
    2,
  ) + '\n',
);
console.log(`written to ${args.out}`);
