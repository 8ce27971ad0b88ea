/** Dispatches `gater <command>`; returns the exit code instead of exiting, so that tests can run it in-process. */
import { readFileSync } from 'node:fs';
import { didYouMean } from '../config/index.ts';
import type { CliIo } from './cli-io.ts';
import { runAppend } from './append-command.ts';
import { runConsole } from './console-command.ts';
import { runObserve } from './observe-command.ts';
import { runProduce } from './produce-command.ts';
import { runRead } from './read-command.ts';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.ts';
import { runStart, type StartDeps } from './start-command.ts';
import { runStatus } from './status-command.ts';
import { USAGE } from './usage.ts';

export type CliDeps = StartDeps;

const COMMANDS = ['start', 'status', 'console', 'append', 'read', 'observe', 'produce'] as const;

export async function runCli(argv: readonly string[], io: CliIo, deps: CliDeps = {}): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return runStart(rest, io, deps);
    case 'status':
      return runStatus(rest, io);
    case 'console':
      return runConsole(rest, io);
    case 'append':
      return runAppend(rest, io);
    case 'read':
      return runRead(rest, io);
    case 'observe':
      return runObserve(rest, io);
    case 'produce':
      return runProduce(rest, io);
    case '--help':
    case '-h':
    case 'help':
      io.stdout.write(USAGE);
      return EXIT_OK;
    case '--version':
    case '-v':
      io.stdout.write(`gater ${packageVersion()}\n`);
      return EXIT_OK;
    case undefined:
      io.stderr.write(USAGE);
      return EXIT_USAGE;
    default:
      io.stderr.write(`gater: unknown command ${JSON.stringify(command)}${didYouMean(command, COMMANDS)}; see gater --help\n`);
      return EXIT_USAGE;
  }
}

/** src/cli/ and dist/cli/ are both two levels below the package root. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}
