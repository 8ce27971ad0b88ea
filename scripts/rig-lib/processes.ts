/**
 * The rig's processes: each started inside a namespace with `ip netns exec` (which execs the program, so the PID is
 * the program's own), and killed by PID only after checking that the PID still runs in that namespace, so that a PID
 * the kernel gave to someone else's process since is never signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
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

/** Kills `pid` if it runs in `namespace` and waits until it is gone; resolves whether it was killed. */
export async function killInNamespace(pid: number, namespace: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<boolean> {
  if (!pidInNamespace(pid, namespace)) return false;
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
  while (pidInNamespace(pid, namespace)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
