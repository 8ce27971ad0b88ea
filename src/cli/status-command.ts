/** `gater status`: asks a running node for its view of the cluster and its readiness, and prints them as tables (or JSON). */
import { errorFromResponse, transportFailure } from '../client/http-transport.ts';
import { MAX_CALL_TIMEOUT_MS, scanFlags, formatIssue, type FlagSpec } from '../config/index.ts';
import { GaterError, type ErrorCode } from '../errors/index.ts';
import type { CliIo } from './cli-io.ts';
import { integerFlag, stringFlag } from './client-command.ts';
import { EXIT_FAILURE, EXIT_OK } from './exit-codes.ts';
import { printFailure, usageFailed } from './failure-output.ts';
import { nodeUrl } from './node-url.ts';
import { renderStatus, type ClusterBody, type Readiness, type ReadyBody, type StoresBody } from './status-view.ts';
import { STATUS_USAGE } from './usage.ts';

/** How long `gater status` waits for each answer. */
export const STATUS_TIMEOUT_MS = 5_000;

const FLAGS: Readonly<Record<string, FlagSpec>> = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** A node that could not be asked, or whose answer is not one; its code is what `--json` prints. */
class StatusFailure extends GaterError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'StatusFailure';
  }
}

export async function runStatus(argv: readonly string[], io: CliIo, nowMs: () => number = Date.now): Promise<number> {
  const { values, positionals, problems } = scanFlags(argv, FLAGS);
  const usageErrors = [
    ...problems.map((p) => formatIssue({ field: p.flag, message: p.message })),
    ...positionals.map((p) => `${JSON.stringify(p)} is not a flag of gater status`),
  ];
  if (values.get('help')?.value === true) {
    io.stdout.write(STATUS_USAGE);
    return EXIT_OK;
  }
  const json = values.get('json')?.value === true;
  const base = nodeUrl(stringFlag(values, 'url'), io.env, usageErrors);
  if (base !== undefined && !/^https?:\/\/[^/]/.test(base)) usageErrors.push(`--url must be an http:// or https:// URL (got ${JSON.stringify(base)})`);
  // Bounded: beyond 2^31 - 1 ms the timer under AbortSignal.timeout refuses the delay, and the node would be reported
  // unreachable.
  const timeoutMs = integerFlag(values, 'timeout-ms', STATUS_TIMEOUT_MS, 1, MAX_CALL_TIMEOUT_MS, usageErrors);
  if (usageErrors.length > 0 || base === undefined) return usageFailed('status', io, usageErrors, json);

  let cluster: ClusterBody;
  let stores: StoresBody;
  let readiness: Readiness;
  try {
    [cluster, stores, readiness] = await Promise.all([
      getJson<ClusterBody>(base, '/v1/cluster', timeoutMs),
      getJson<StoresBody>(base, '/v1/stores', timeoutMs),
      // A node that is not ready answers 503 with its report: that is an answer, not a failure.
      getJson<ReadyBody>(base, '/health/ready', timeoutMs, [UNAVAILABLE]).then(
        (body): Readiness => ({ body }),
        (err: unknown): Readiness => {
          if (!(err instanceof StatusFailure)) throw err;
          return { unknown: err.message };
        },
      ),
    ]);
  } catch (err) {
    if (!(err instanceof StatusFailure)) throw err;
    printFailure(io, json, err, `gater status: ${err.message}`);
    return EXIT_FAILURE;
  }
  if (json) {
    const ready = 'body' in readiness ? readiness.body : null;
    io.stdout.write(`${JSON.stringify({ cluster, stores: stores.stores ?? [], ready }, null, 2)}\n`);
  } else {
    io.stdout.write(renderStatus(cluster, stores, nowMs(), readiness));
  }
  return EXIT_OK;
}

/** The status of `/health/ready` from a node that is not ready. */
const UNAVAILABLE = 503;

/** GETs `path` as a JSON object; statuses other than 2xx are failures unless listed in `accept`. */
async function getJson<T>(base: string, path: string, timeoutMs: number, accept: readonly number[] = []): Promise<T> {
  const url = `${base.replace(/\/+$/, '')}${path}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (err) {
    throw new StatusFailure(timedOut(err) ? 'timeout' : 'unavailable', `cannot reach a gater node at ${base} (${describeFetchError(err, timeoutMs)}); is it running? --url names another`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new StatusFailure(
      response.ok ? 'internal' : errorFromResponse(response.status, text, url).code,
      `GET ${url} answered ${response.status} with a body that is not JSON`,
    );
  }
  if (!response.ok && !accept.includes(response.status)) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const detail = error === undefined ? '' : `: ${String(error.code)} ${String(error.message)}`;
    throw new StatusFailure(errorFromResponse(response.status, text, url).code, `GET ${url} answered ${response.status}${detail}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new StatusFailure('internal', `GET ${url} answered with ${JSON.stringify(body).slice(0, 60)}, not a JSON object`);
  }
  return body as T;
}

function timedOut(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  return timedOut(err) ? `no answer within ${timeoutMs} ms` : transportFailure(err).text;
}
