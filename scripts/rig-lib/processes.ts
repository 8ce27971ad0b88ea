/**
 * The rig's processes: each started inside a namespace with `ip netns exec` (which execs the program, so the PID is
 * the program's own), and killed by PID only after checking that the PID is still ours: it runs in that namespace, or
 * it is still the `ip netns exec` launcher on its way in (a rig killed right after a spawn leaves one of those, and it
 * would enter the namespace, or start the program in a namespace already deleted, after `down` looked). A PID the
 * kernel gave to someone else's process since is never signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { pidInNamespace } from './namespaces.ts';

/** How long a killed process may take to be gone. */
export const KILL_WAIT_MS = 10_000;

export interface SpawnInit {
  readonly env: NodeJS.ProcessEnv;
  /** Standard output and error are appended here. */
  readonly logFile: string;
  readonly cwd: string;
}

/**
 * Starts `argv` inside `namespace`, detached: it outlives the command that started it (`rig up` returns), and a
 * Ctrl-C meant for the rig does not reach it.
 */
export function spawnInNamespace(namespace: string, argv: readonly string[], init: SpawnInit): ChildProcess {
  const out = openSync(init.logFile, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', namespace, ...argv], {
      detached: true,
      stdio: ['ignore', out, out],
      env: init.env,
      cwd: init.cwd,
    });
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')} in ${namespace}`);
    return child;
  } finally {
    closeSync(out);
  }
}

/** The namespace that process `pid` is an `ip netns exec` launcher into, or undefined when it is not one. */
export function launchingInto(pid: number): string | undefined {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
  const [program, object, command, namespace] = argv;
  const isIp = program === 'ip' || program?.endsWith('/ip') === true;
  return isIp && object === 'netns' && command === 'exec' && namespace !== undefined && namespace !== '' ? namespace : undefined;
}

/** PIDs of the `ip netns exec` launchers into namespaces named `<prefix>-…`. */
export function launcherPids(prefix: string): { pid: number; namespace: string }[] {
  const found: { pid: number; namespace: string }[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    const namespace = launchingInto(pid);
    if (namespace?.startsWith(`${prefix}-`) === true) found.push({ pid, namespace });
  }
  return found;
}

/** Whether `pid` is a rig process of `namespace`: it runs there, or is the launcher on its way in. */
export function isRigProcess(pid: number, namespace: string): boolean {
  return pidInNamespace(pid, namespace) || launchingInto(pid) === namespace;
}

/** Kills `pid` if it is a rig process of `namespace` and waits until it is gone; resolves whether it was killed. */
export async function killInNamespace(pid: number, namespace: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<boolean> {
  if (!isRigProcess(pid, namespace)) return false;
  try {
    process.kill(pid, signal);
  } catch {
    return false;
  }
  if (signal === 'SIGKILL' && !(await waitGone(pid, namespace, KILL_WAIT_MS))) {
    throw new Error(`process ${pid} in ${namespace} survived SIGKILL for ${KILL_WAIT_MS} ms`);
  }
  return true;
}

/** Waits until `pid` no longer runs in `namespace` (gone, or a zombie awaiting its parent). */
export async function waitGone(pid: number, namespace: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRigProcess(pid, namespace)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
