/**
 * The HTTP API under test over the real gateway: a real node (real SQLite stores in a temp dir, real workers and
 * gateway) from test/support/real-api.ts, with an HTTP server of ours on top of its API so tests can reach it both
 * through `app.inject()` and through a real socket on 127.0.0.1. Also: one request function per transport and an
 * SSE reader for event streams.
 */
import { pino } from 'pino';
import { createHttpServer, type HealthReport, type HttpInit, type HttpServer } from '../../src/http/index.ts';
import type { GaterApi } from '../../src/gateway/gater-api.ts';
import { GaterMetrics } from '../../src/metrics/index.ts';
import { createTestApi, type TestApi } from '../support/real-api.ts';

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The parsed JSON body; undefined when the body is empty or not JSON. */
  body: any;
}

export interface RequestOptions {
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (with `headers` naming its content type). */
  raw?: string;
  headers?: Record<string, string>;
}

export type Request = (method: string, path: string, options?: RequestOptions) => Promise<HttpResult>;

export type TransportName = 'inject' | 'fetch';
export const TRANSPORTS: readonly TransportName[] = ['inject', 'fetch'];

export interface Harness {
  node: TestApi;
  api: GaterApi;
  server: HttpServer;
  /** Base URL of our server on 127.0.0.1. */
  url: string;
  metrics: GaterMetrics;
  request: Record<TransportName, Request>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  stores?: string[];
  http?: HttpInit;
  health?: () => HealthReport;
  cluster?: () => unknown;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const node = await createTestApi(options.stores === undefined ? {} : { stores: options.stores });
  const metrics = new GaterMetrics({ collectDefaultMetrics: false });
  const server = createHttpServer(
    {
      api: node.api,
      metrics,
      logger: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
      health: options.health ?? (() => ({ live: true, ready: true, checks: { node: { ok: true } } })),
      cluster: options.cluster ?? (() => ({ self: { nodeId: node.node.nodeId }, peers: [] })),
    },
    { host: '127.0.0.1', port: 0, ...options.http },
  );
  const url = await server.listen();
  return {
    node,
    api: node.api,
    server,
    url,
    metrics,
    request: { inject: injectRequest(server), fetch: fetchRequest(url) },
    async close() {
      await server.close();
      await node.close();
    },
  };
}

export function injectRequest(server: HttpServer): Request {
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    let payload: string | undefined;
    if (options.json !== undefined) {
      payload = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    } else if (options.raw !== undefined) {
      payload = options.raw;
    }
    const res = await server.app.inject({
      method: method as 'GET',
      url: path,
      headers,
      ...(payload === undefined ? {} : { payload }),
    });
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = String(v);
    return { status: res.statusCode, headers: flat, text: res.body, body: parseJson(res.body) };
  };
}

export function fetchRequest(baseUrl: string): Request {
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    } else if (options.raw !== undefined) {
      body = options.raw;
    }
    const res = await fetch(baseUrl + path, {
      method,
      headers,
      signal: AbortSignal.timeout(10_000),
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    return { status: res.status, headers: Object.fromEntries(res.headers), text, body: parseJson(text) };
  };
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Server-sent events

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: any;
}

/** Reads an SSE response with fetch: messages in order, comments kept apart. Every wait is bounded. */
export class SseReader {
  readonly response: Response;
  readonly comments: string[] = [];
  private readonly controller: AbortController;
  private readonly reader: ReadableStreamDefaultReader<string>;
  private buffer = '';
  private readonly queue: SseMessage[] = [];
  private ended = false;

  private constructor(response: Response, controller: AbortController) {
    this.response = response;
    this.controller = controller;
    this.reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Opens the stream; resolves once the response headers are in (the subscription is then in place). */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const controller = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
    return new SseReader(response, controller);
  }

  /** The next message; rejects if none arrives within `timeoutMs` or the stream ends. */
  async next(timeoutMs = 5_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.ended) throw new Error('the event stream ended');
      await this.pull(deadline - Date.now());
    }
    return this.queue.shift()!;
  }

  /** The next `n` messages. */
  async take(n: number, timeoutMs = 5_000): Promise<SseMessage[]> {
    const deadline = Date.now() + timeoutMs;
    const out: SseMessage[] = [];
    while (out.length < n) out.push(await this.next(Math.max(1, deadline - Date.now())));
    return out;
  }

  /** Resolves true once the server ends the stream (messages still queued are dropped), false on timeout. */
  async waitForEnd(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() >= deadline) return false;
      await this.pull(deadline - Date.now()).catch(() => undefined);
    }
    return true;
  }

  /** Resolves once a comment matching `pattern` has been read. */
  async waitForComment(pattern: RegExp, timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.comments.find((c) => pattern.test(c));
      if (found !== undefined) return found;
      if (this.ended) throw new Error('the event stream ended');
      await this.pull(deadline - Date.now());
    }
  }

  close(): void {
    this.controller.abort();
  }

  private async pull(remainingMs: number): Promise<void> {
    if (remainingMs <= 0) throw new Error('timed out waiting for the event stream');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out waiting for the event stream')), remainingMs);
    });
    try {
      const { done, value } = await Promise.race([this.reader.read(), timeout]);
      if (done) {
        this.ended = true;
        return;
      }
      this.buffer += value;
    } finally {
      clearTimeout(timer);
    }
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.parse(block);
    }
  }

  private parse(block: string): void {
    const message: { id?: string; event?: string; data: string[] } = { data: [] };
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') message.id = value;
      else if (field === 'event') message.event = value;
      else if (field === 'data') message.data.push(value);
    }
    if (message.data.length === 0 && message.event === undefined) return;
    this.queue.push({ id: message.id, event: message.event ?? 'message', data: JSON.parse(message.data.join('\n')) });
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; resolves with the last answer. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5_000, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
