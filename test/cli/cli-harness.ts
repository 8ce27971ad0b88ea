/** Runs the CLI in-process with captured output and stop signals raised by the test, or as a real child process. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/cli-io.ts';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'gater.js');

export interface Harness {
  readonly io: CliIo;
  stdout(): string;
  stderr(): string;
  logs(): Record<string, unknown>[];
  /** Raises a stop request, as SIGINT or SIGTERM would. */
  signal(name: string): void;
  listeners(): number;
  readonly exits: number[];
}

export function harness(env: Record<string, string> = {}, cwd = process.cwd()): Harness {
  const out: string[] = [];
  const err: string[] = [];
  const log: string[] = [];
  const handlers = new Set<(signal: string) => void>();
  const exits: number[] = [];
  return {
    io: {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env,
      cwd,
      logDestination: { write: (s: string) => void log.push(s) },
      onStop(handler) {
        handlers.add(handler);
        return () => handlers.delete(handler);
      },
      exit: (code) => void exits.push(code),
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    logs: () => log.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    signal: (name) => {
      for (const handler of [...handlers]) handler(name);
    },
    listeners: () => handlers.size,
    exits,
  };
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/gater.js args` to completion, killed after `timeoutMs` (by SIGKILL: a process stuck in a loop never
 * runs its SIGTERM handler). */
export function runBin(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
