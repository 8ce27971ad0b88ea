/**
 * The rig's state file: what it made and which processes it started, so that every later command (another process)
 * can act on them, and `rig down` can remove all of it even after the rig itself crashed. The namespace prefix is
 * derived from the state directory, so a rig whose state file was lost is still swept by prefix.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GossipMode, HostPlan } from './topology.ts';

export const STATE_FILE = 'state.json';
export const STATE_VERSION = 1;
/** Every rig namespace starts with this, then a hash of the state directory. */
export const NAMESPACE_PREFIX = 'gr';

export interface HostState extends HostPlan {
  readonly namespace: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The Unix socket of the host's HTTP proxy (see ns-proxy.ts). */
  readonly socket: string;
  /** A secret of its own (an intruder's); absent: the rig's. */
  readonly secret?: string;
  /** Environment of this host's node only, over the rig's. */
  readonly env: Record<string, string>;
  /** The gater node's PID while it runs. */
  pid?: number;
  proxyPid?: number;
  partitioned: boolean;
  /** Percentage of received packets dropped (0: none). */
  lossPercent: number;
  lossUdpOnly: boolean;
}

export interface RigState {
  readonly version: number;
  readonly dir: string;
  readonly prefix: string;
  readonly bridgeNamespace: string;
  readonly clusterName: string;
  readonly secret: string;
  readonly mode: GossipMode;
  /** Environment of every node, over the rig's own values. */
  readonly env: Record<string, string>;
  readonly createdAt: string;
  /** The process that made the rig, when it asked to be recorded: a test whose rig dies with it. */
  readonly ownerPid?: number;
  hosts: HostState[];
}

/** The namespace prefix of the rig kept in `dir`: `gr` and 8 hex digits of the directory's path. */
export function prefixFor(dir: string): string {
  return NAMESPACE_PREFIX + createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 8);
}

export function statePath(dir: string): string {
  return join(dir, STATE_FILE);
}

export function loadState(dir: string): RigState | undefined {
  const path = statePath(dir);
  if (!existsSync(path)) return undefined;
  const state = JSON.parse(readFileSync(path, 'utf8')) as RigState;
  if (state.version !== STATE_VERSION) throw new Error(`${path} is a rig state of version ${state.version}, not ${STATE_VERSION}`);
  return state;
}

/** Writes the state atomically (a crash leaves the old file or the new one, never half of one). */
export function saveState(state: RigState): void {
  mkdirSync(state.dir, { recursive: true });
  const path = statePath(state.dir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, path);
}

/** Removes the state file and any temporary one a command killed in the middle of `saveState` left behind. */
export function removeState(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === STATE_FILE || (name.startsWith(`${STATE_FILE}.`) && name.endsWith('.tmp'))) rmSync(join(dir, name), { force: true });
  }
}
