/**
 * JSON over HTTP to one gater node: the deadline of a call goes in `x-gater-deadline-ms` and bounds the wait here too;
 * the node's error bodies (`{ error: { code, message, ...data } }`) come back as the typed GaterErrors the gateway
 * threw; a request that could not reach the node is tried again, with backoff, while the deadline allows and the call
 * is safe to repeat. A request that broke after it was sent may have been carried out: unless it is safe to repeat, it
 * fails with `unavailable` and `data.outcome: 'unknown'`, as the node reports a write it cannot vouch for. Connections
 * are kept alive between calls (fetch pools them per origin).
 */
import { pino, type Logger } from 'pino';
import { fromWire, GaterError, InvalidArgumentError, TimeoutError, UnavailableError } from '../errors/index.ts';
import { callDeadline, type CallOptions } from '../gateway/gater-api.ts';
import {
  CALL_DEADLINE_MS,
  DEADLINE_HEADER,
  MAX_DEADLINE_MS,
  RETRY_BASE_DELAY_MS,
  RETRY_MAX_DELAY_MS,
} from './constants.ts';

/** How much longer than the deadline the client waits, so that the node's own `timeout` answer arrives first. */
export const DEADLINE_GRACE_MS = 200;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Query = Record<string, string | number | undefined>;

export interface RequestSpec {
  method: HttpMethod;
  /** Path with its parameters already encoded (`/v1/stores/default/streams/a%2Fb/events`). */
  path: string;
  query?: Query;
  body?: unknown;
  /**
   * Whether the request may be sent again after it failed on the way (connection reset): reads, saves, acks, and
   * appends whose events all carry ids. Any request is sent again when it failed before it was sent (connection
   * refused, unknown host), since then nothing reached the node.
   */
  idempotent: boolean;
  /**
   * Whether the JSON body of a failed status is the call's answer rather than an error (the readiness report a node
   * that is not ready sends with 503). @default none: every failed status is an error
   */
  answers?: (status: number, body: unknown) => boolean;
}

export interface HttpTransportComponents {
  logger?: Logger;
  /** @default the global fetch (undici: keep-alive connections pooled per origin) */
  fetch?: typeof fetch;
}

export interface HttpTransportInit {
  /** Base URL of the node's HTTP API (`http://127.0.0.1:4001`). */
  url: string;
  /** Deadline of a call that sets none, in milliseconds, retries included. @default 5000 */
  deadlineMs?: number;
  /** Headers sent with every request (a proxy's authorization, for example). @default none */
  headers?: Record<string, string>;
}

export class HttpTransport {
  readonly url: string;
  private readonly logger: Logger;
  private readonly fetch: typeof fetch;
  private readonly deadlineMs: number;
  private readonly headers: Record<string, string>;

  constructor(components: HttpTransportComponents, init: HttpTransportInit) {
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.fetch = components.fetch ?? globalThis.fetch;
    this.url = normalizeBaseUrl(init.url);
    this.deadlineMs = validDeadline(init.deadlineMs ?? CALL_DEADLINE_MS, 'deadlineMs');
    this.headers = { ...init.headers };
  }

  /** Sends one call and returns its JSON body (undefined for 204), or throws the GaterError the node answered. */
  /** The instant (ms since the epoch) a call made now with `options` must be done by. */
  deadlineAt(options: CallOptions = {}): number {
    if (options.deadlineMs !== undefined) validDeadline(options.deadlineMs, 'deadlineMs');
    return callDeadline(options, this.deadlineMs);
  }

  async request<T>(spec: RequestSpec, options: CallOptions = {}): Promise<T> {
    const deadlineAt = this.deadlineAt(options);
    const deadlineMs = Math.max(0, deadlineAt - Date.now());
    const what = `${spec.method} ${spec.path}`;
    const headers: Record<string, string> = { ...this.headers, accept: 'application/json' };
    let body: string | undefined;
    if (spec.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.body);
    }
    const target = this.target(spec.path, spec.query);
    /** Why the last try failed on the way: when the deadline ends the retries, that is the error to report. */
    let failed: UnavailableError | undefined;
    for (let attempt = 0; ; attempt += 1) {
      if (isAborted(options.signal)) throw cancelled();
      const remaining = deadlineAt - Date.now();
      if (remaining <= 0) throw failed ?? new TimeoutError(what, deadlineMs);
      // No try waits longer than the longest deadline the node takes: a far deadlineAt would overflow the timer
      // (~24.8 days at most; past it, it fires at once).
      const tryMs = Math.min(MAX_DEADLINE_MS, Math.ceil(remaining));
      headers[DEADLINE_HEADER] = String(tryMs);
      const timeout = AbortSignal.timeout(tryMs + DEADLINE_GRACE_MS);
      const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
      let response: Response;
      let text: string;
      try {
        response = await this.fetch(target, { method: spec.method, headers, body: body ?? null, signal });
        text = await response.text();
      } catch (err) {
        if (isAborted(options.signal)) throw cancelled(err);
        // This try was on its way: a `timeout`, which (as from the node) means the outcome is unknown.
        if (timeout.aborted) throw new TimeoutError(what, deadlineMs);
        const reason = transportFailure(err);
        failed = reason.sent ? this.brokeAfterSending(what, reason.text, err) : this.unreachable(reason.text, err);
        const retry = (!reason.sent || spec.idempotent) && deadlineAt - Date.now() > 0;
        this.logger.debug({ err, what, attempt, retry, sent: reason.sent }, 'request failed on the way');
        if (!retry) throw failed;
        await sleep(Math.min(backoff(attempt, RETRY_BASE_DELAY_MS), Math.max(0, deadlineAt - Date.now())), options.signal);
        continue;
      }
      if (response.ok) return (text === '' ? undefined : parseJson(text, what)) as T;
      if (spec.answers !== undefined) {
        const answer = jsonOrUndefined(text);
        if (answer !== undefined && spec.answers(response.status, answer)) return answer as T;
      }
      throw errorFromResponse(response.status, text, what);
    }
  }

  /**
   * Opens an event stream: resolves with the response once the node has answered 200 (the subscription is then in
   * place), or throws the node's error. `signal` aborts the whole stream, reading included.
   */
  async openStream(path: string, query: Query, signal: AbortSignal, deadlineMs: number = this.deadlineMs): Promise<Response> {
    const what = `GET ${path}`;
    const opening = AbortSignal.timeout(deadlineMs + DEADLINE_GRACE_MS);
    const headers = {
      ...this.headers,
      accept: 'text/event-stream',
      [DEADLINE_HEADER]: String(Math.min(MAX_DEADLINE_MS, validDeadline(deadlineMs, 'deadlineMs'))),
    };
    // The opening deadline must not cut the stream once it runs, so it aborts only until the headers are in.
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    opening.addEventListener('abort', abort, { once: true });
    let response: Response;
    try {
      response = await this.fetch(this.target(path, query), { headers, signal: controller.signal });
    } catch (err) {
      signal.removeEventListener('abort', abort);
      if (signal.aborted) throw new GaterError('unavailable', 'the subscription was closed', {}, { cause: err });
      if (opening.aborted) throw new TimeoutError(what, deadlineMs);
      throw this.unreachable(transportFailure(err).text, err);
    } finally {
      opening.removeEventListener('abort', abort);
    }
    if (!response.ok) {
      signal.removeEventListener('abort', abort);
      throw errorFromResponse(response.status, await response.text().catch(() => ''), what);
    }
    if (response.body === null) throw new UnavailableError(`${what} answered without a body`);
    return response;
  }

  private target(path: string, query: Query | undefined): string {
    let url = this.url + path;
    if (query !== undefined) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
      const text = params.toString();
      if (text !== '') url += `?${text}`;
    }
    return url;
  }

  /** Nothing was sent: the node did nothing, and the call may be made again as it is. */
  private unreachable(reason: string, cause: unknown): UnavailableError {
    return new UnavailableError(`cannot reach the gater node at ${this.url} (${reason})`, { url: this.url }, { cause });
  }

  /** The request was sent and no answer came back: the node may have carried it out (`outcome: 'unknown'`). */
  private brokeAfterSending(what: string, reason: string, cause: unknown): UnavailableError {
    return new UnavailableError(
      `${what}: the connection to the gater node at ${this.url} broke after the request was sent (${reason}); ` +
        'outcome unknown: it may or may not have been carried out, so read before repeating it ' +
        '(an append repeated with the same event ids is written once)',
      { url: this.url, outcome: 'unknown' },
      { cause },
    );
  }
}

/** `http://host:4001/` → `http://host:4001`; refuses anything that is not an http(s) URL. */
export function normalizeBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError('url', `must be an http:// or https:// URL (got ${JSON.stringify(url)})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidArgumentError('url', `must be an http:// or https:// URL (got ${JSON.stringify(url)})`);
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** Rebuilds the node's error from a failed response; a body that is not ours (a proxy's page) keeps the status. */
export function errorFromResponse(status: number, text: string, what: string): GaterError {
  const body = jsonOrUndefined(text);
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error === 'object' && error !== null) {
    const { code, message, ...data } = error as Record<string, unknown>;
    return fromWire({ code, message, data });
  }
  const code = status === 502 || status === 503 ? 'unavailable' : status === 504 ? 'timeout' : status === 404 ? 'not_found' : 'internal';
  return fromWire({ code, message: `${what} answered HTTP ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`, data: { status } });
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new GaterError('internal', `${what} answered with a body that is not JSON`);
  }
}

/**
 * Why a request did not get through, in words, and whether it may have reached the node: only failures to connect
 * (refused, unknown or unreachable host, a port fetch refuses) are known to have sent nothing.
 */
export function transportFailure(err: unknown): { text: string; sent: boolean } {
  const cause = (err instanceof Error ? err.cause : undefined) as (NodeJS.ErrnoException & { code?: string }) | undefined;
  const code = cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return { text: 'connection refused', sent: false };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { text: 'unknown host', sent: false };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { text: code, sent: false };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return { text: 'connection reset', sent: true };
    default:
      // fetch refuses some ports (`http://host:1`) before connecting.
      if (code === undefined && cause?.message === 'bad port') return { text: 'bad port', sent: false };
      return { text: code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)), sent: true };
  }
}

/** The error of a call its caller's AbortSignal ended, as the gateway reports a cancelled call. */
export function cancelled(cause?: unknown): UnavailableError {
  return new UnavailableError('the call was cancelled', {}, cause === undefined ? undefined : { cause });
}

export function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

export function validDeadline(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_DEADLINE_MS) {
    throw new InvalidArgumentError(field, `must be an integer from 1 to ${MAX_DEADLINE_MS} milliseconds`);
  }
  return value;
}

/** Exponential backoff: base, 2 × base, ... up to RETRY_MAX_DELAY_MS, with ±20% jitter so clients spread out. */
export function backoff(attempt: number, baseMs: number): number {
  const delay = Math.min(RETRY_MAX_DELAY_MS, baseMs * 2 ** Math.min(attempt, 16));
  return Math.round(delay * (0.8 + Math.random() * 0.4));
}

/** Resolves after `ms`, or at once (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
