/**
 * How a command reports that it failed: a line on stderr (`gater NAME: ...`), or with `--json` one JSON object
 * `{"error": {"code", "message", ...}}` on stdout, where its answer would have been, so that a script reads one JSON
 * document whatever happened. The exit code says which kind of failure it was (exit-codes.ts).
 */
import { GaterError, toGaterError } from '../errors/index.ts';
import type { CliIo } from './cli-io.ts';
import { EXIT_FAILURE, EXIT_USAGE } from './exit-codes.ts';

/** The JSON line of a failure, as `--json` prints it. */
export function failureJson(error: GaterError): string {
  return `${JSON.stringify({ error: { code: error.code, message: error.message, ...error.data } })}\n`;
}

/** Prints `error`: as JSON on stdout with `--json`, else `text` as a line on stderr. */
export function printFailure(io: CliIo, json: boolean, error: GaterError, text: string): void {
  if (json) io.stdout.write(failureJson(error));
  else io.stderr.write(`${text}\n`);
}

/** Prints the usage problems; returns the usage exit code. */
export function usageFailed(name: string, io: CliIo, problems: readonly string[], json: boolean): number {
  printFailure(io, json, new GaterError('invalid_argument', problems.join('; ')), `gater ${name}: ${problems.join('; ')}`);
  return EXIT_USAGE;
}

/** Prints a failed call; returns the failure exit code. */
export function callFailed(name: string, io: CliIo, err: unknown, json: boolean): number {
  const error = toGaterError(err);
  printFailure(io, json, error, `gater ${name}: ${error.code}: ${error.message}`);
  return EXIT_FAILURE;
}
