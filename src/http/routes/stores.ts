/** Stores: the cluster's stores and their workers, one store's details, and reads across a store by position. */
import type { FastifyPluginAsync } from 'fastify';
import type { GaterApi, WorkerInfo } from '../../gateway/gater-api.ts';
import { InvalidArgumentError } from '../../errors/index.ts';
import type { EventFilter, FilteredRead } from '../../store/types.ts';
import { callOptions, parseNameList } from '../request-input.ts';
import * as s from '../schemas.ts';

export interface StoreRoutesOptions {
  api: GaterApi;
}

interface StoreParams {
  store: string;
}

export const storeRoutes: FastifyPluginAsync<StoreRoutesOptions> = async (app, { api }) => {
  app.get('/v1/stores', { schema: { querystring: s.object({}) } }, async (request) => {
    const stores = await api.listStores(callOptions(request));
    return { stores: stores.map(({ store, workers }) => ({ store, workers: workers.map(publicWorker) })) };
  });

  app.get<{ Params: StoreParams }>(
    '/v1/stores/:store',
    { schema: { params: s.storeParams, querystring: s.object({}) } },
    async (request) => {
      const { store, workers, hasEvents, lastPosition, streamCount } = await api.getStore(
        request.params.store,
        callOptions(request),
      );
      return { store, workers: workers.map(publicWorker), hasEvents, lastPosition, streamCount };
    },
  );

  app.get<{ Params: StoreParams; Querystring: { from: number; count: number } }>(
    '/v1/stores/:store/all',
    {
      schema: {
        params: s.storeParams,
        querystring: s.object({ from: { ...s.nonNegativeInteger, default: 0 }, count: s.count }),
      },
    },
    async (request) => {
      const { from, count } = request.query;
      return page(from, await api.readAll(request.params.store, from, count, callOptions(request)));
    },
  );

  app.get<{
    Params: StoreParams;
    Querystring: { types?: string; tags?: string; match: 'any' | 'all'; from: number; count: number };
  }>(
    '/v1/stores/:store/events',
    {
      schema: {
        params: s.storeParams,
        querystring: s.object({
          types: { type: 'string' },
          tags: { type: 'string' },
          match: { ...s.tagMatch, default: 'any' },
          from: { ...s.nonNegativeInteger, default: 0 },
          count: s.count,
        }),
      },
    },
    async (request) => {
      const { types, tags, match, from, count } = request.query;
      if (types === undefined && tags === undefined) throw new InvalidArgumentError('types', 'give types, tags or both');
      const filter: EventFilter = {};
      if (types !== undefined) filter.types = parseNameList(types, 'types');
      if (tags !== undefined) {
        filter.tags = parseNameList(tags, 'tags');
        filter.tagMatch = match;
      }
      return page(from, await api.readEvents(request.params.store, filter, from, count, callOptions(request)));
    },
  );
};

/** What a client needs of a worker; `local` only means something to the node answering. */
function publicWorker({ nodeId, workerId, backend }: WorkerInfo): { nodeId: string; workerId: string; backend: string } {
  return { nodeId, workerId, backend };
}

/**
 * A page of a read from `from`, with where the next page starts (never skipping or repeating an event). A read from
 * beyond the head scans only up to the head; the next page still starts at `from`, never behind it, or a reader
 * following nextPosition would be sent back over positions it asked to skip.
 */
function page(from: number, { events, scannedTo }: FilteredRead): { events: FilteredRead['events']; nextPosition: number } {
  return { events, nextPosition: Math.max(from, scannedTo + 1) };
}
