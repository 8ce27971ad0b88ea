import type { FastifyRequest } from 'fastify';

/** The `route` label of a request's metrics: method and route pattern, so ids in paths never multiply the series. */
export function routeLabel(request: FastifyRequest): string {
  const url = request.routeOptions.url;
  return url === undefined ? 'unmatched' : `${request.method} ${url}`;
}
