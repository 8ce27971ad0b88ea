/** Runs the system tools the rig drives (`ip`, `nft`), with their error output in the error when they fail. */
import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:os';

/** How long one `ip` or `nft` call may take: they answer in milliseconds; a hang is a broken machine. */
export const COMMAND_TIMEOUT_MS = 20_000;

export class CommandError extends Error {
  readonly command: string;
  readonly stderr: string;
  readonly exitCode: number | null;

  constructor(command: string, stderr: string, exitCode: number | null) {
    super(`${command} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr.trim() || 'no error output'}`);
    this.name = 'CommandError';
    this.command = command;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** Runs `file args…` and resolves with its standard output; rejects with a CommandError naming the command. */
export function run(file: string, args: readonly string[], input?: string): Promise<string> {
  const command = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout);
      else reject(new CommandError(command, stderr || err.message, typeof err.code === 'number' ? err.code : null));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Like `run`, but a failure resolves to undefined: for teardown steps whose target may already be gone. */
export async function tryRun(file: string, args: readonly string[]): Promise<string | undefined> {
  try {
    return await run(file, args);
  } catch {
    return undefined;
  }
}

/** Runs a command with the caller's terminal and resolves with its exit code (`rig exec`). */
export function runInteractive(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env });
    child.once('error', reject);
    // A command ended by a signal exits as a shell reports it: 128 + the signal number.
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
  });
}
