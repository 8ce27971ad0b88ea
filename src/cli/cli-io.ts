/**
 * What the CLI touches of its process, so commands run the same in a test as in `bin/gater.js`: output streams,
 * environment, working directory, stop signals and the last-resort exit.
 */
import type { DestinationStream } from 'pino';

export interface TextSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Where `gater start` logs. @default standard output, written synchronously */
  readonly logDestination?: DestinationStream;
  /** Calls `handler` on every stop request (SIGINT, SIGTERM); returns the function that removes it. */
  onStop(handler: (signal: string) => void): () => void;
  /** Ends the process at once; only for a second stop request while a stop hangs. */
  exit(code: number): void;
}

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onStop(handler) {
      for (const signal of STOP_SIGNALS) process.on(signal, handler);
      return () => {
        for (const signal of STOP_SIGNALS) process.off(signal, handler);
      };
    },
    exit(code) {
      process.exit(code);
    },
  };
}
