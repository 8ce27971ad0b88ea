/** The help texts of the CLI; `gater start --help` is generated from the option table, so it cannot drift. */
import { CONFIG_FILE_ENV, CONFIG_FILE_FLAG, CONFIG_KEYS, DEFAULT_CONFIG_FILE, OPTIONS, type OptionSpec } from '../config/index.ts';

export const USAGE = `gater: a cluster node for event-sourced systems

Usage:
  gater start [flags]                  run a node (see gater start --help)
  gater status [--url URL] [--json]    show a node, its peers and the stores with their workers
  gater console [--url URL]            the interactive console: observers, producers, subscriptions, data
  gater append|read|observe|produce    the console's actions for scripts (see gater append --help, ...)
  gater --help                         this text
  gater --version                      the version

Configuration: defaults < config file < environment < flags; every option is listed in config/README.md.
Exit codes: 0 success, 1 failure, 2 usage or configuration error.
`;

export const STATUS_USAGE = `Usage: gater status [--url URL] [--json] [--timeout-ms MS]

Asks a running node (GET /v1/cluster, /v1/stores and /health/ready) for this node and whether it is ready, its
peers (CONNECTED: an open mesh connection, which calls to the peer's workers need) and the stores (STATUS
"CONFLICT - calls refused" when nodes announce one store id as different stores), and prints tables.

  --url URL          the node's HTTP API (default: the node GATER_HTTP_HOST and GATER_HTTP_PORT configure on this
                     host, else http://127.0.0.1:4001)
  --json             print {"cluster": ..., "stores": [...], "ready": {...}} instead of tables, or on failure
                     {"error": {"code", "message"}}
  --timeout-ms MS    how long to wait for each answer (default 5000, at most 600000)

Exit code 1 when the node cannot be reached or answers with an error, 2 for a bad command line.
`;

export const CONSOLE_USAGE = `Usage: gater console [--url URL] [--store STORE]

The interactive test console: observers (by stream, event type or payload pattern), producers of greenhouse events,
persistent subscriptions with acks, stream data, manual appends and the cluster's status, from a menu.

  --url URL        the node's HTTP API (default: the node GATER_HTTP_HOST and GATER_HTTP_PORT configure on this
                   host, else http://127.0.0.1:4001)
  --store STORE    the store to work on (default: "default" if the cluster has it, else the first store listed)

Needs a terminal. Exit with option 15 or Ctrl+C at the menu: every observer, producer and subscription stops.
`;

export function startUsage(): string {
  const entries = CONFIG_KEYS.map((key) => {
    const spec: OptionSpec<unknown> = OPTIONS[key];
    const flag = spec.flag === undefined ? undefined : spec.parser.switch === true ? `--[no-]${spec.flag}` : `--${spec.flag}`;
    const names = [flag, ...spec.env].filter((n) => n !== undefined).join(', ');
    return `  ${names}  (default: ${spec.defaultText})\n      ${spec.doc}\n`;
  });
  return (
    `Usage: gater start [flags]\n\n` +
    `Runs a gater node until SIGINT or SIGTERM, then stops it cleanly.\n\n` +
    `Each option is taken from its flag, else its environment variable (the first one listed wins), else the config\n` +
    `file, else its default. The config file is --${CONFIG_FILE_FLAG} FILE, else $${CONFIG_FILE_ENV}, else ${DEFAULT_CONFIG_FILE} when it\n` +
    `exists: a JSON object keyed as in config/README.md. Secrets have no flag: a command line shows in the process list.\n\n` +
    entries.join('')
  );
}
