/** The node a client command talks to when `--url` is not given. */
import { DEFAULT_HTTP_PORT } from '../config/index.ts';
import type { CliIo } from './cli-io.ts';

/** The local node, on the port this environment gives it when it names one (`GATER_HTTP_PORT`), else 4001. */
export function defaultUrl(env: CliIo['env']): string {
  const port = Number(env['GATER_HTTP_PORT']);
  return `http://127.0.0.1:${Number.isInteger(port) && port > 0 && port < 65_536 ? port : DEFAULT_HTTP_PORT}`;
}
