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
/** The stop request raised when standard output's reader has gone (`gater observe | head -1`). */
export const OUTPUT_CLOSED = 'EPIPE';

export function processIo(): CliIo {
  const stopHandlers = new Set<(signal: string) => void>();
  // Like the SIGPIPE a C program would die of, quietly: a reader that has read enough is not a failure.
  const stdout = closableOutput(process.stdout, () => {
    for (const handler of [...stopHandlers]) handler(OUTPUT_CLOSED);
  });
  const stderr = closableOutput(process.stderr, () => {});
  return {
    stdout,
    stderr,
    env: process.env,
    cwd: process.cwd(),
    onStop(handler) {
      for (const signal of STOP_SIGNALS) process.on(signal, handler);
      stopHandlers.add(handler);
      return () => {
        for (const signal of STOP_SIGNALS) process.off(signal, handler);
        stopHandlers.delete(handler);
      };
    },
    exit(code) {
      process.exit(code);
    },
  };
}

/** Errors of a write meaning the reader has gone: the pipe's, and the writes a stream refuses once destroyed by it. */
const CLOSED_CODES: ReadonlySet<string> = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

/**
 * `stream` as a TextSink that outlives its reader: once a write fails with EPIPE, later writes are dropped and
 * `onClosed` runs once (a command then ends as on a stop request), instead of the process dying of an unhandled
 * 'error' event. Other write errors stay fatal.
 */
export function closableOutput(stream: NodeJS.WriteStream, onClosed: () => void): TextSink {
  let closed = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (!CLOSED_CODES.has(err.code ?? '')) throw err;
    if (closed) return;
    closed = true;
    onClosed();
  });
  return {
    write: (text: string) => (closed || stream.destroyed ? false : stream.write(text)),
    get isTTY() {
      return stream.isTTY;
    },
  };
}
