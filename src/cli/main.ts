/**
 * The process entry of the CLI (bin/gater.js loads it): runs the command, then lets the process end on its own with the
 * command's exit code.
 */
import { processIo } from './cli-io.ts';
import { EXIT_FAILURE } from './exit-codes.ts';
import { runCli } from './run-cli.ts';

/** After a command returns, how long anything left open (a socket, a timer a component forgot) may keep the process
 * alive before it is ended anyway. A normal exit happens long before: the timer is unref'd. */
export const EXIT_GRACE_MS = 2_000;

let code: number;
try {
  code = await runCli(process.argv.slice(2), processIo());
} catch (err) {
  process.stderr.write(`gater: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  code = EXIT_FAILURE;
}
process.exitCode = code;
setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
