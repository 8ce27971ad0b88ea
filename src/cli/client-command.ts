/**
 * What the script commands (`gater append | read | observe | produce`) share: their common flags (`--url`,
 * `--store`, `--json`, `--timeout-ms`), how flag values are read, and a client for the node. Failures are reported
 * as failure-output.ts says: exit code 1 when the node refused or could not be reached, 2 when the command line was
 * wrong and nothing was sent.
 */
import { formatIssue, integer, MAX_CALL_TIMEOUT_MS, scanFlags, ValueError, type FlagSpec, type FlagValue } from '../config/index.ts';
import { GaterClient } from '../client/index.ts';
import type { CliIo } from './cli-io.ts';
import { usageFailed } from './failure-output.ts';
import { nodeUrl } from './node-url.ts';

/** Deadline of each call of a script command unless `--timeout-ms` says otherwise. */
export const SCRIPT_CALL_TIMEOUT_MS = 5_000;

export const COMMON_FLAGS: Readonly<Record<string, FlagSpec>> = {
  url: { type: 'string' },
  store: { type: 'string' },
  json: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export interface ClientCommand {
  readonly client: GaterClient;
  readonly store: string;
  readonly json: boolean;
  readonly deadlineMs: number;
  /** The command's own flags, by name. */
  readonly flags: ReadonlyMap<string, FlagValue>;
  /** Usage problems found so far; the command adds its own, then calls `usageFailed`. */
  readonly problems: string[];
}

/**
 * Reads the flags of a script command. Returns the parsed command, or an exit code when there is nothing to run
 * (`--help` printed, or the command line is wrong).
 */
export function parseClientCommand(
  name: string,
  argv: readonly string[],
  io: CliIo,
  flags: Readonly<Record<string, FlagSpec>>,
  usage: string,
): ClientCommand | number {
  const { values, positionals, problems } = scanFlags(argv, { ...COMMON_FLAGS, ...flags });
  if (values.get('help')?.value === true) {
    io.stdout.write(usage);
    return 0;
  }
  const errors = [
    ...problems.map((p) => formatIssue({ field: p.flag, message: p.message })),
    ...positionals.map((p) => `${JSON.stringify(p)} is not a flag of gater ${name}`),
  ];
  const store = String(values.get('store')?.value ?? 'default');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(store)) errors.push(`--store must be a store id (1 to 64 letters, digits, _ or -), got ${JSON.stringify(store)}`);
  const deadlineMs = integerFlag(values, 'timeout-ms', SCRIPT_CALL_TIMEOUT_MS, 1, MAX_CALL_TIMEOUT_MS, errors);
  const url = nodeUrl(stringFlag(values, 'url'), io.env, errors);
  let client: GaterClient | undefined;
  try {
    if (url !== undefined) client = new GaterClient({}, { url, deadlineMs });
  } catch (err) {
    errors.push((err as Error).message.replace(/^url:/, '--url'));
  }
  const json = values.get('json')?.value === true;
  if (client === undefined) return usageFailed(name, io, errors, json);
  return { client, store, json, deadlineMs, flags: values, problems: errors };
}

/**
 * An integer flag within bounds, or its default; a bad value is added to `problems`. Read as the configuration reads
 * a number (decimal digits only), so `1e2`, `0x10` or a blank are refused here as the HTTP API refuses them.
 */
export function integerFlag(
  values: ReadonlyMap<string, FlagValue>,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = values.get(name)?.value;
  if (raw === undefined) return fallback;
  try {
    return integer(min, max).parse(raw);
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
    problems.push(formatIssue({ field: `--${name}`, message: `${err.message} (got ${JSON.stringify(raw)})` }));
    return fallback;
  }
}

/** A JSON flag, parsed; a bad value is added to `problems`. */
export function jsonFlag(values: ReadonlyMap<string, FlagValue>, name: string, problems: string[]): unknown {
  const raw = values.get(name)?.value;
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(String(raw)) as unknown;
  } catch (err) {
    problems.push(`--${name} must be JSON (${(err as Error).message})`);
    return undefined;
  }
}

export function stringFlag(values: ReadonlyMap<string, FlagValue>, name: string): string | undefined {
  const raw = values.get(name)?.value;
  return raw === undefined ? undefined : String(raw);
}

/** Resolves when a stop signal arrives or `signal` aborts; `dispose` removes the signal handler. */
export function stopRequest(io: CliIo): { stopped: Promise<string>; dispose: () => void } {
  let resolve!: (signal: string) => void;
  const stopped = new Promise<string>((r) => (resolve = r));
  const dispose = io.onStop((signal) => resolve(signal));
  return { stopped, dispose };
}
