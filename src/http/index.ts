/**
 * The HTTP API of a gater node (DESIGN.md, "HTTP API"): `createHttpServer(components, init)` builds a Fastify server
 * over a GaterApi with REST routes, server-sent events for subscriptions, health probes and Prometheus metrics.
 */
export {
  createHttpServer,
  BODY_LIMIT_BYTES,
  HTTP_HOST,
  HTTP_PORT,
  MAX_PARAM_LENGTH_CHARS,
  type HttpComponents,
  type HttpInit,
  type HttpServer,
} from './http-server.ts';
export type { HealthReport } from './routes/health.ts';
export { HEARTBEAT_INTERVAL_MS, formatDelivery } from './event-stream.ts';
export { DEADLINE_HEADER, MAX_DEADLINE_MS } from './request-input.ts';
export type { ErrorBody } from './error-reply.ts';
