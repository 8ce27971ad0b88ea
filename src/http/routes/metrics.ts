/** Prometheus scrape endpoint. */
import type { FastifyPluginAsync } from 'fastify';
import type { GaterMetrics } from '../../metrics/index.ts';

export interface MetricsRoutesOptions {
  metrics: GaterMetrics;
}

export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, { metrics }) => {
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()));
};
