/** Snapshots: record, read (version 0 = the latest), delete, list. */
import type { FastifyPluginAsync } from 'fastify';
import type { GaterApi } from '../../gateway/gater-api.ts';
import type { SnapshotInput, SnapshotQuery } from '../../store/types.ts';
import { STREAM_ID_MAX_LENGTH } from '../../store/validate.ts';
import { callOptions } from '../request-input.ts';
import * as s from '../schemas.ts';

export interface SnapshotRoutesOptions {
  api: GaterApi;
}

interface SnapshotParams {
  store: string;
  sourceUuid: string;
  streamUuid: string;
  version: number;
}

const SNAPSHOT = '/v1/stores/:store/snapshots/:sourceUuid/:streamUuid/:version';
const key = { type: 'string', minLength: 1, maxLength: STREAM_ID_MAX_LENGTH } as const;

function snapshotParams(minVersion: number): object {
  return s.object(
    { store: s.storeId, sourceUuid: key, streamUuid: key, version: { ...s.nonNegativeInteger, minimum: minVersion, hint: `must be an integer >= ${minVersion}` } },
    ['store', 'sourceUuid', 'streamUuid', 'version'],
  );
}

export const snapshotRoutes: FastifyPluginAsync<SnapshotRoutesOptions> = async (app, { api }) => {
  app.put<{ Params: SnapshotParams; Body: { data: unknown; metadata?: Record<string, unknown> } }>(
    SNAPSHOT,
    {
      schema: {
        // A snapshot is taken at a real version; 0 only means "the latest" when reading.
        params: snapshotParams(1),
        body: s.object({ data: {}, metadata: { type: 'object' } }, ['data']),
      },
    },
    async (request) => {
      const { store, sourceUuid, streamUuid, version } = request.params;
      const { data, metadata } = request.body;
      const snapshot: SnapshotInput = { sourceUuid, streamUuid, version, data };
      if (metadata !== undefined) snapshot.metadata = metadata;
      await api.recordSnapshot(store, snapshot, callOptions(request));
      return { recorded: true };
    },
  );

  app.get<{ Params: SnapshotParams }>(
    SNAPSHOT,
    { schema: { params: snapshotParams(0), querystring: s.object({}) } },
    async (request) => {
      const { store, sourceUuid, streamUuid, version } = request.params;
      return { snapshot: await api.readSnapshot(store, sourceUuid, streamUuid, version, callOptions(request)) };
    },
  );

  app.delete<{ Params: SnapshotParams }>(
    SNAPSHOT,
    { schema: { params: snapshotParams(0), querystring: s.object({}) } },
    async (request, reply) => {
      const { store, sourceUuid, streamUuid, version } = request.params;
      await api.deleteSnapshot(store, sourceUuid, streamUuid, version, callOptions(request));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { store: string }; Querystring: SnapshotQuery }>(
    '/v1/stores/:store/snapshots',
    { schema: { params: s.storeParams, querystring: s.object({ sourceUuid: key, streamUuid: key }) } },
    async (request) => {
      const { sourceUuid, streamUuid } = request.query;
      const query: SnapshotQuery = {};
      if (sourceUuid !== undefined) query.sourceUuid = sourceUuid;
      if (streamUuid !== undefined) query.streamUuid = streamUuid;
      return { snapshots: await api.listSnapshots(request.params.store, query, callOptions(request)) };
    },
  );
};
