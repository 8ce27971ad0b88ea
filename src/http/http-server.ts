/**
 * The HTTP API: REST over the gateway API, server-sent events for subscriptions, health probes and Prometheus
 * metrics. Every route has a JSON schema; every failure answers `{ error: { code, message, ...data } }` with the
 * status of its code (DESIGN.md, "HTTP API").
 */
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type Logger } from 'pino';
import type { GaterApi } from '../gateway/gater-api.ts';
import { CALL_TIMEOUT_MS } from '../gateway/index.ts';
import type { GaterMetrics } from '../metrics/index.ts';
import { STREAM_ID_MAX_LENGTH } from '../store/validate.ts';
import { errorReply } from './error-reply.ts';
import { routeLabel } from './route-label.ts';
import { EventStreams } from './event-stream.ts';
import { clusterRoutes } from './routes/cluster.ts';
import { healthRoutes, type HealthReport } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { observeRoutes } from './routes/observe.ts';
import { snapshotRoutes } from './routes/snapshots.ts';
import { storeRoutes } from './routes/stores.ts';
import { streamRoutes } from './routes/streams.ts';
import { subscriptionRoutes } from './routes/subscriptions.ts';
import { createValidatorCompiler } from './validation.ts';

/** Default listening address: every interface. */
export const HTTP_HOST = '0.0.0.0';
/** Default HTTP port. */
export const HTTP_PORT = 4001;
/** Largest request body: 16 MiB, room for an append of many large events. */
export const BODY_LIMIT_BYTES = 16 * 1024 * 1024;
/**
 * Longest path parameter, in characters as sent (percent-encoded): a stream id of STREAM_ID_MAX_LENGTH UTF-16 units
 * may take up to 9 characters per unit when encoded (`%E2%82%AC`). The schema then applies the decoded limit.
 */
export const MAX_PARAM_LENGTH_CHARS = STREAM_ID_MAX_LENGTH * 9;

export interface HttpComponents {
  api: GaterApi;
  metrics: GaterMetrics;
  logger?: Logger;
  /** The node's health, asked on every probe. */
  health: () => HealthReport;
  /** The body of `GET /v1/cluster`, built by the composition root. */
  cluster: () => unknown;
}

export interface HttpInit {
  /** Address to listen on. @default '0.0.0.0' */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default 4001 */
  port?: number;
  /** Largest accepted request body, in bytes. @default 16777216 (16 MiB) */
  bodyLimitBytes?: number;
  /** Milliseconds between keep-alive comments on an idle event stream. @default 15000 */
  heartbeatIntervalMs?: number;
  /** Milliseconds an event stream waits for a client that reads nothing before cutting it. @default 60000 */
  eventStreamStallTimeoutMs?: number;
  /**
   * Deadline of a request that sets none, for routes that make several calls under one deadline (single calls
   * leave it to the gateway). The node passes the gateway's. @default 5000 (CALL_TIMEOUT_MS)
   */
  callTimeoutMs?: number;
}

export interface HttpServer {
  /** The Fastify instance, for `inject()` in tests. */
  readonly app: FastifyInstance;
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:4001`). */
  listen(): Promise<string>;
  /** Ends open event streams, stops accepting requests and waits for those in flight. Idempotent. */
  close(): Promise<void>;
}

export function createHttpServer(components: HttpComponents, init: HttpInit = {}): HttpServer {
  const logger = components.logger ?? pino({ level: 'silent' });
  const { api, metrics } = components;
  const host = init.host ?? HTTP_HOST;
  const port = init.port ?? HTTP_PORT;

  const refuse = (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const { status, body, error } = errorReply(err);
    if (error.code === 'internal') request.log.error({ err }, 'request failed');
    else request.log.debug({ code: error.code, status }, 'request refused');
    return reply.code(status).send(body);
  };

  const app = fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Requests are counted in metrics and logged at debug below; Fastify's two info lines per request are noise.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: init.bodyLimitBytes ?? BODY_LIMIT_BYTES,
    // Event data may hold anything JSON can, keys named __proto__ or constructor included; Fastify's default refuses
    // them as "not valid JSON". JSON.parse makes them own properties, which every reader of a body here treats as
    // data (own-key iteration, Object.hasOwn, JSON.stringify): none assigns them onto another object.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH_CHARS },
    // Paths the router refuses (bad percent-encoding, a parameter too long) would otherwise get Fastify's own body.
    // Such a reply skips the onResponse hook, so it is counted here.
    frameworkErrors: (err, request, reply) => {
      refuse(err, request, reply);
      metrics.recordHttpRequest(routeLabel(request), reply.statusCode);
    },
  });
  const eventStreams = new EventStreams(
    { logger, metrics },
    {
      ...(init.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: init.heartbeatIntervalMs }),
      ...(init.eventStreamStallTimeoutMs === undefined ? {} : { stallTimeoutMs: init.eventStreamStallTimeoutMs }),
    },
  );

  app.setValidatorCompiler(createValidatorCompiler());
  // Bodies are JSON only. Fastify also reads text/plain, which would reach the schema as a string and be answered
  // "must be an object"; without its parser it is a 415, as every other type that is not JSON.
  app.removeContentTypeParser('text/plain');
  // An empty body labelled JSON is no body, as on a DELETE or a replay sent by a client that labels every request:
  // Fastify's parser refuses it (400) even where a route takes no body. A route that needs one still refuses it
  // through its schema.
  const parseJson = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else void parseJson(request, body as string, done);
  });

  app.setErrorHandler(refuse);

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );

  app.addHook('onResponse', async (request, reply) => {
    if (eventStreams.isStreaming(request)) return;
    metrics.recordHttpRequest(routeLabel(request), reply.statusCode);
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });

  // Streams outlive any request; end them first, or closing would wait for clients to hang up.
  app.addHook('preClose', async () => eventStreams.closeAll('server closing'));

  app.register(streamRoutes, { api });
  app.register(storeRoutes, { api });
  app.register(snapshotRoutes, { api });
  app.register(subscriptionRoutes, { api, eventStreams, callTimeoutMs: init.callTimeoutMs ?? CALL_TIMEOUT_MS });
  app.register(observeRoutes, { api, eventStreams });
  app.register(clusterRoutes, { cluster: components.cluster });
  app.register(healthRoutes, { health: components.health });
  app.register(metricsRoutes, { metrics });

  let closing: Promise<void> | undefined;
  return {
    app,
    async listen() {
      return app.listen({ host, port });
    },
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}

