/** Probes: liveness (the process serves) and readiness (the node can serve store calls), for orchestrators. */
import type { FastifyPluginAsync } from 'fastify';
import * as s from '../schemas.ts';

export interface HealthReport {
  /** The process is up and serving; false asks an orchestrator to restart it. */
  live: boolean;
  /** The node can serve calls; false takes it out of load balancing. */
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface HealthRoutesOptions {
  health: () => HealthReport;
}

const UNAVAILABLE = 503;

export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { health }) => {
  const noQuery = { schema: { querystring: s.object({}) } };

  app.get('/health/live', noQuery, async (_request, reply) => {
    const { live } = health();
    return reply.code(live ? 200 : UNAVAILABLE).send({ live });
  });

  app.get('/health/ready', noQuery, async (_request, reply) => {
    const report = health();
    return reply.code(report.ready ? 200 : UNAVAILABLE).send(report);
  });
};
