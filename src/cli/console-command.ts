/** `gater console`: a placeholder until the interactive console lands. */
import type { CliIo } from './cli-io.ts';
import { EXIT_FAILURE } from './exit-codes.ts';

export async function runConsole(_argv: readonly string[], io: CliIo): Promise<number> {
  io.stderr.write('gater console: the console arrives with a later release; gater status shows the cluster meanwhile\n');
  return EXIT_FAILURE;
}
