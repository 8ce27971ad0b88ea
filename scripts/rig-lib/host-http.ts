/**
 * HTTP to the node of one rig host, through the host's proxy socket (see ns-proxy.ts): plain requests with a JSON
 * body, and open responses for event streams. Every request has a deadline; nothing is retried here.
 */
import { request, type IncomingMessage } from 'node:http';
import { PROXY_HEADER } from './ns-proxy.ts';

/** Deadline of one request unless the caller gives one. */
export const HOST_REQUEST_TIMEOUT_MS = 10_000;

export interface HostResponse<T = unknown> {
  readonly status: number;
  /** The parsed JSON body; undefined for an empty one. */
  readonly body: T;
  /** True when the proxy answered because the node did not (it is down, or not listening yet). */
  readonly unreachable: boolean;
}

export interface HostRequestInit {
  method?: string;
  /** Sent as JSON. */
  json?: unknown;
  /** @default HOST_REQUEST_TIMEOUT_MS */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class HostHttp {
  readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** One request; resolves with the status and parsed body, rejects when the proxy itself cannot be reached. */
  async json<T = any>(path: string, init: HostRequestInit = {}): Promise<HostResponse<T>> {
    const timeoutMs = init.timeoutMs ?? HOST_REQUEST_TIMEOUT_MS;
    // The deadline covers the body too.
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal === undefined ? deadline : AbortSignal.any([deadline, init.signal]);
    const res = await this.open(path, { ...init, signal, timeoutMs });
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.statusCode ?? 0, body: body as T, unreachable: res.headers[PROXY_HEADER] !== undefined };
  }

  post<T = any>(path: string, json: unknown, init: Omit<HostRequestInit, 'json' | 'method'> = {}): Promise<HostResponse<T>> {
    return this.json<T>(path, { ...init, method: 'POST', json });
  }

  /**
   * The response itself, unread: for event streams. The deadline covers the response head only; `signal` ends the
   * stream whenever the caller wants.
   */
  open(path: string, init: HostRequestInit = {}): Promise<IncomingMessage> {
    const payload = init.json === undefined ? undefined : Buffer.from(JSON.stringify(init.json));
    const headers: Record<string, string | number> = { accept: 'application/json, text/event-stream' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        path,
        method: init.method ?? 'GET',
        headers,
        agent: false,
        ...(init.signal === undefined ? {} : { signal: init.signal }),
      });
      const timer = setTimeout(
        () => req.destroy(new Error(`no answer to ${init.method ?? 'GET'} ${path} within ${init.timeoutMs ?? HOST_REQUEST_TIMEOUT_MS} ms`)),
        init.timeoutMs ?? HOST_REQUEST_TIMEOUT_MS,
      );
      req.once('response', (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      req.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });
  }
}
