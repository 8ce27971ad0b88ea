/** The cluster as this node sees it: itself, its peers and the worker registry (built by the composition root). */
import type { FastifyPluginAsync } from 'fastify';
import * as s from '../schemas.ts';

export interface ClusterRoutesOptions {
  cluster: () => unknown;
}

export const clusterRoutes: FastifyPluginAsync<ClusterRoutesOptions> = async (app, { cluster }) => {
  app.get('/v1/cluster', { schema: { querystring: s.object({}) } }, async () => cluster());
};
