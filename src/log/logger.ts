import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL, type LogFormat, type LogLevel } from './levels.ts';
import { REDACT_PATHS, censorPath } from './redaction.ts';

/** The components that log under their own name (DESIGN.md); any other string is accepted too. */
export type ComponentName =
  | 'cli'
  | 'node'
  | 'discovery'
  | 'mesh'
  | 'registry'
  | 'rpc'
  | 'gateway'
  | 'worker'
  | 'store'
  | 'http'
  | (string & {});

export interface LoggerInit {
  /** @default 'info' */
  level?: LogLevel;
  /** @default 'auto' (pretty on a TTY, JSON lines otherwise) */
  format?: LogFormat;
  /** The node's id, bound to every line when known at creation (otherwise add it with `logger.child({ nodeId })`). */
  nodeId?: string;
  /** The node's configured name, bound to every line. */
  nodeName?: string;
  /** Where lines go. @default standard output, written synchronously */
  destination?: DestinationStream;
  /** Whether the destination is a terminal, for `auto`. @default `isTTY` of the destination (of stdout by default) */
  tty?: boolean;
}

/**
 * Builds the one root logger of a process. Every line is JSON (or its pretty rendering) with `level` as a name,
 * errors under `err` (with their `cause` chain), and secrets redacted (see `REDACT_PATHS`).
 *
 * Pretty output formats each line with pino-pretty in this thread, synchronously, rather than in a worker-thread
 * transport: one node logs little, and a synchronous write cannot lose the last lines before a crash.
 */
export function createLogger(init: LoggerInit = {}): Logger {
  const destination = init.destination ?? pino.destination({ dest: 1, sync: true });
  const tty = init.tty ?? (init.destination === undefined ? process.stdout.isTTY === true : isTty(init.destination));
  const format = init.format ?? DEFAULT_LOG_FORMAT;
  const usePretty = format === 'pretty' || (format === 'auto' && tty);

  const base: Record<string, unknown> = { pid: process.pid };
  if (init.nodeName !== undefined) base['nodeName'] = init.nodeName;
  if (init.nodeId !== undefined) base['nodeId'] = init.nodeId;

  const options: LoggerOptions = {
    level: init.level ?? DEFAULT_LOG_LEVEL,
    base,
    errorKey: 'err',
    serializers: { err: pino.stdSerializers.errWithCause },
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: censorPath },
  };
  if (!usePretty) return pino(options, destination);
  const prettify = prettyFactory({
    colorize: tty,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,nodeName,nodeId,component',
    messageFormat: '{if component}[{component}] {end}{msg}',
  });
  return pino(options, { write: (line: string) => void destination.write(prettify(line)) });
}

/** A child logger tagged with its component, so lines can be filtered by `component`. */
export function component(logger: Logger, name: ComponentName): Logger {
  return logger.child({ component: name });
}

/** The logger a component uses when none is given. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

function isTty(stream: DestinationStream): boolean {
  return (stream as { isTTY?: unknown }).isTTY === true;
}
