/** Streams: append, read, version, list, delete. */
import type { FastifyPluginAsync } from 'fastify';
import type { GaterApi, ReadOptions } from '../../gateway/gater-api.ts';
import type { Direction, NewEvent } from '../../store/types.ts';
import { callOptions } from '../request-input.ts';
import * as s from '../schemas.ts';

export interface StreamRoutesOptions {
  api: GaterApi;
}

interface StreamParams {
  store: string;
  stream: string;
}

const STREAM_EVENTS = '/v1/stores/:store/streams/:stream/events';

export const streamRoutes: FastifyPluginAsync<StreamRoutesOptions> = async (app, { api }) => {
  app.post<{ Params: StreamParams; Body: { events: NewEvent[]; expectedVersion?: number | string } }>(
    STREAM_EVENTS,
    {
      schema: {
        params: s.streamParams,
        body: s.object({ events: s.events, expectedVersion: s.expectedVersion }, ['events']),
      },
    },
    async (request) => {
      const { store, stream } = request.params;
      const { events, expectedVersion } = request.body;
      const options = callOptions(request);
      return api.appendEvents(store, stream, events, expectedVersion === undefined ? options : { ...options, expectedVersion });
    },
  );

  app.get<{ Params: StreamParams; Querystring: { from?: number; count: number; direction: Direction } }>(
    STREAM_EVENTS,
    {
      schema: {
        params: s.streamParams,
        querystring: s.object({
          from: s.nonNegativeInteger,
          count: s.count,
          direction: { type: 'string', enum: ['forward', 'backward'], default: 'forward' },
        }),
      },
    },
    async (request) => {
      const { store, stream } = request.params;
      const { from, count, direction } = request.query;
      const options: ReadOptions = { ...callOptions(request), count, direction };
      if (from !== undefined) options.fromVersion = from;
      return { events: await api.getEvents(store, stream, options) };
    },
  );

  app.get<{ Params: StreamParams }>(
    '/v1/stores/:store/streams/:stream/version',
    { schema: { params: s.streamParams, querystring: s.object({}) } },
    async (request) => ({
      version: await api.getVersion(request.params.store, request.params.stream, callOptions(request)),
    }),
  );

  app.get<{ Params: { store: string } }>(
    '/v1/stores/:store/streams',
    { schema: { params: s.storeParams, querystring: s.object({}) } },
    async (request) => ({ streams: await api.getStreams(request.params.store, callOptions(request)) }),
  );

  app.delete<{ Params: StreamParams }>(
    '/v1/stores/:store/streams/:stream',
    { schema: { params: s.streamParams, querystring: s.object({}) } },
    async (request, reply) => {
      await api.deleteStream(request.params.store, request.params.stream, callOptions(request));
      return reply.code(204).send();
    },
  );
};
