/**
 * The node a command talks to when `--url` is not given: the local node as this environment configures it
 * (`GATER_HTTP_HOST`, `GATER_HTTP_PORT`), read with the parsers `gater start` uses, so that a value the node would
 * refuse is refused here too instead of quietly becoming the default port.
 */
import { isIPv6 } from 'node:net';
import { ConfigError, DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, formatIssue, OPTIONS, ValueError, type ConfigIssue, type Parser } from '../config/index.ts';
import type { CliIo } from './cli-io.ts';

/** A node listening on every address is reached on loopback from its own host. */
const LOOPBACK_OF_WILDCARD: Readonly<Record<string, string>> = { '0.0.0.0': '127.0.0.1', '::': '::1' };

/** `http://HOST:PORT` of the local node; throws ConfigError naming each variable that cannot give it. */
export function defaultUrl(env: CliIo['env']): string {
  const issues: ConfigIssue[] = [];
  const host = variable(env, 'GATER_HTTP_HOST', OPTIONS.httpHost.parser, issues) ?? DEFAULT_HTTP_HOST;
  const port = variable(env, 'GATER_HTTP_PORT', OPTIONS.httpPort.parser, issues) ?? DEFAULT_HTTP_PORT;
  if (port === 0) issues.push({ field: 'GATER_HTTP_PORT', message: 'is 0 (any free port), so the port of the node is not known: give --url' });
  if (issues.length > 0) throw new ConfigError(issues);
  const reachable = LOOPBACK_OF_WILDCARD[host] ?? host;
  return `http://${isIPv6(reachable) ? `[${reachable}]` : reachable}:${port}`;
}

/** The URL of `--url` when given, else the default one; a variable that cannot give it is added to `problems`. */
export function nodeUrl(given: string | undefined, env: CliIo['env'], problems: string[]): string | undefined {
  if (given !== undefined) return given;
  try {
    return defaultUrl(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.issues.map(formatIssue));
    return undefined;
  }
}

/** A variable's value, parsed; undefined when unset or empty (as `gater start` reads an empty one). */
function variable<T>(env: CliIo['env'], name: string, parser: Parser<T>, issues: ConfigIssue[]): T | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  try {
    return parser.parse(value);
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
    issues.push({ field: name, message: `${err.message} (got ${JSON.stringify(value)})` });
    return undefined;
  }
}
