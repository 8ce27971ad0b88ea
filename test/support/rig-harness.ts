/**
 * Chaos tests on the namespace rig (scripts/rig-lib): why a test must skip, a rig per test file in a temporary
 * directory of its own (so tests running side by side never meet), and a teardown that proves nothing is left. A rig
 * whose test process died without its teardown is swept by the next test that opens one.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listNamespaces, namespaceSupport } from '../../scripts/rig-lib/namespaces.ts';
import { Rig, type RigUpOptions } from '../../scripts/rig-lib/rig.ts';
import { loadState, prefixFor } from '../../scripts/rig-lib/state.ts';

/** Test rigs live in `<tmpdir>/gater-rig-t-<name>-XXXXXX`. */
export const TEST_RIG_DIR_PREFIX = 'gater-rig-t-';
/** A short beacon interval for tests: suspect after 1.5 s, dead after 2.5 s (3 and 5 intervals). */
export const TEST_GOSSIP_INTERVAL_MS = 500;

/** Why the rig tests cannot run here, or false when they can. */
export async function rigSkipReason(needs: { nft?: boolean } = {}): Promise<string | false> {
  if (process.platform !== 'linux') return 'the rig needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the rig needs root to create network namespaces (CI runs the tests as root)';
  const unsupported = await namespaceSupport();
  if (unsupported !== undefined) return `the rig needs network namespaces: ${unsupported}`;
  if (needs.nft === true) {
    try {
      await promisify(execFile)('nft', ['--version']);
    } catch {
      return 'packet loss needs nft (apt-get install nftables; .ci/run installs it)';
    }
  }
  return false;
}

function ownerAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes down the test rigs whose test process is gone (killed before its teardown could run). */
export async function sweepOrphanRigs(): Promise<number> {
  let swept = 0;
  for (const entry of await readdir(tmpdir())) {
    if (!entry.startsWith(TEST_RIG_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner: number | undefined;
    try {
      owner = loadState(dir)?.ownerPid;
    } catch {
      owner = undefined;
    }
    if (owner !== undefined && !ownerAlive(owner)) {
      await Rig.down({ dir });
      swept++;
    }
  }
  return swept;
}

export interface TestRig {
  readonly rig: Rig;
  readonly dir: string;
  /** Takes the rig down and throws if any of its namespaces is left. Safe to call twice. */
  close(): Promise<void>;
}

/** A rig of this test process's own, up and formed. */
export async function openTestRig(name: string, options: RigUpOptions): Promise<TestRig> {
  await sweepOrphanRigs();
  const dir = await mkdtemp(join(tmpdir(), `${TEST_RIG_DIR_PREFIX}${name}-`));
  const close = async (): Promise<void> => {
    await Rig.down({ dir });
    const prefix = `${prefixFor(dir)}-`;
    const left = (await listNamespaces()).filter((n) => n.startsWith(prefix));
    if (left.length > 0) throw new Error(`rig down left namespaces behind: ${left.join(', ')}`);
  };
  try {
    const rig = await Rig.up({ dir }, { ...options, ownerPid: process.pid });
    return { rig, dir, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The value of one sample of a Prometheus text exposition, e.g. `gater_gossip_dropped_total{reason="bad_auth"}`. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}

/** One membership change a node logged (see src/discovery/cluster-monitor.ts). */
export interface MembershipEvent {
  readonly time: number;
  /** The node that logged it. */
  readonly observer: string;
  /** The peer it is about. */
  readonly peer: string;
  readonly kind: 'joined' | 'left' | 'suspected' | 'recovered';
}

const MEMBERSHIP_MESSAGES: Record<string, MembershipEvent['kind']> = {
  'node joined the cluster': 'joined',
  'node left the cluster': 'left',
  'node suspected: not heard lately': 'suspected',
  'suspected node heard again': 'recovered',
};

/** The membership changes in a node's JSON log (the rig's nodes log at info). */
export function membershipEvents(log: string): MembershipEvent[] {
  const events: MembershipEvent[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('"component":"cluster"')) continue;
    let entry: { time?: number; nodeName?: string; name?: string; msg?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const kind = MEMBERSHIP_MESSAGES[entry.msg ?? ''];
    if (kind !== undefined && entry.time !== undefined) {
      events.push({ time: entry.time, observer: entry.nodeName ?? '?', peer: entry.name ?? '?', kind });
    }
  }
  return events;
}
