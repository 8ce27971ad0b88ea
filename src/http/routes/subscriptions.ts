/**
 * Persistent subscriptions: list, save (idempotent), read, remove; their delivery session as server-sent events;
 * acknowledgements; parked events.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { GaterApi } from '../../gateway/gater-api.ts';
import type { SubscriptionOptions, SubscriptionSpec, SubscriptionType } from '../../store/types.ts';
import { validateSelector } from '../../store/validate.ts';
import type { EventStreams } from '../event-stream.ts';
import { callOptions } from '../request-input.ts';
import * as s from '../schemas.ts';

export interface SubscriptionRoutesOptions {
  api: GaterApi;
  eventStreams: EventStreams;
  /** Deadline of a request that sets none, shared by the calls of a route that makes several. */
  callTimeoutMs: number;
}

interface SubscriptionParams {
  store: string;
  name: string;
}

interface SaveBody {
  type: SubscriptionType;
  selector: unknown;
  startFrom?: number;
  options?: SubscriptionOptions;
}

const SUBSCRIPTION = '/v1/stores/:store/subscriptions/:name';
const noQuery = s.object({});

export const subscriptionRoutes: FastifyPluginAsync<SubscriptionRoutesOptions> = async (app, { api, eventStreams, callTimeoutMs }) => {
  app.get<{ Params: { store: string } }>(
    '/v1/stores/:store/subscriptions',
    { schema: { params: s.storeParams, querystring: noQuery } },
    async (request) => ({ subscriptions: await api.getSubscriptions(request.params.store, callOptions(request)) }),
  );

  app.put<{ Params: SubscriptionParams; Body: SaveBody }>(
    SUBSCRIPTION,
    {
      schema: {
        params: s.subscriptionParams,
        querystring: noQuery,
        body: s.object(
          {
            type: s.subscriptionType,
            selector: s.selector,
            startFrom: s.nonNegativeInteger,
            options: s.subscriptionOptions,
          },
          ['type', 'selector'],
        ),
      },
    },
    async (request) => {
      const { store, name } = request.params;
      const { type, selector, startFrom, options } = request.body;
      const spec: SubscriptionSpec = { type, selector: validateSelector(type, selector, 'selector'), name };
      if (startFrom !== undefined) spec.startFrom = startFrom;
      if (options !== undefined) spec.options = options;
      return { subscription: await api.saveSubscription(store, spec, callOptions(request)) };
    },
  );

  app.get<{ Params: SubscriptionParams }>(
    SUBSCRIPTION,
    { schema: { params: s.subscriptionParams, querystring: noQuery } },
    async (request) => ({
      subscription: await api.getSubscription(request.params.store, request.params.name, callOptions(request)),
    }),
  );

  app.delete<{ Params: SubscriptionParams }>(
    SUBSCRIPTION,
    { schema: { params: s.subscriptionParams, querystring: noQuery } },
    async (request, reply) => {
      const { store, name } = request.params;
      const options = callOptions(request);
      // Both calls share the request's one deadline.
      options.deadlineAt = Date.now() + (options.deadlineMs ?? callTimeoutMs);
      // Subscriptions are keyed by (type, selector, name); the URL names only the name, which is unique in a store.
      const { type, selector } = await api.getSubscription(store, name, options);
      await api.removeSubscription(store, type, selector, name, options);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: SubscriptionParams }>(
    `${SUBSCRIPTION}/events`,
    {
      // A HEAD would open a subscription whose events it could never send.
      exposeHeadRoute: false,
      schema: { params: s.subscriptionParams, querystring: noQuery },
    },
    async (request, reply) => {
      // Opened before the response starts, so that an unknown subscription or a store without workers is a normal
      // JSON error with its status.
      const subscription = await api.subscribe(request.params.store, request.params.name, callOptions(request));
      await eventStreams.serve(request, reply, subscription);
    },
  );

  app.post<{ Params: SubscriptionParams; Body: { positions: number[] } }>(
    `${SUBSCRIPTION}/ack`,
    {
      schema: {
        params: s.subscriptionParams,
        querystring: noQuery,
        body: s.object({ positions: { ...s.positions, minItems: 1 } }, ['positions']),
      },
    },
    async (request) =>
      api.ackEvents(request.params.store, request.params.name, request.body.positions, callOptions(request)),
  );

  app.get<{ Params: SubscriptionParams }>(
    `${SUBSCRIPTION}/parked`,
    { schema: { params: s.subscriptionParams, querystring: noQuery } },
    async (request) => ({
      parked: await api.listParked(request.params.store, request.params.name, callOptions(request)),
    }),
  );

  app.post<{ Params: SubscriptionParams; Body: { positions?: number[] } | null | undefined }>(
    `${SUBSCRIPTION}/parked/replay`,
    {
      schema: {
        params: s.subscriptionParams,
        querystring: noQuery,
        // The body is optional: without one (or without positions), every parked event is replayed.
        body: { ...s.object({ positions: s.positions }), nullable: true },
      },
    },
    async (request) => {
      const { store, name } = request.params;
      return api.replayParked(store, name, request.body?.positions, callOptions(request));
    },
  );
};
