/** Transient subscriptions: live events (or from a position) as server-sent events; nothing is stored. */
import type { FastifyPluginAsync } from 'fastify';
import { InvalidArgumentError } from '../../errors/index.ts';
import type { GaterApi } from '../../gateway/gater-api.ts';
import type { ObserveSpec } from '../../store/subscriptions/types.ts';
import type { SubscriptionSelector, SubscriptionType } from '../../store/types.ts';
import { validateSelector } from '../../store/validate.ts';
import type { EventStreams } from '../event-stream.ts';
import { callOptions, parseNameList, resumePosition } from '../request-input.ts';
import * as s from '../schemas.ts';

export interface ObserveRoutesOptions {
  api: GaterApi;
  eventStreams: EventStreams;
}

interface ObserveQuery {
  type: SubscriptionType;
  selector: string;
  from?: number;
  match?: 'any' | 'all';
}

export const observeRoutes: FastifyPluginAsync<ObserveRoutesOptions> = async (app, { api, eventStreams }) => {
  app.get<{ Params: { store: string }; Querystring: ObserveQuery }>(
    '/v1/stores/:store/observe',
    {
      // A HEAD would open a subscription whose events it could never send.
      exposeHeadRoute: false,
      schema: {
        params: s.storeParams,
        querystring: s.object(
          { type: s.subscriptionType, selector: { type: 'string', minLength: 1 }, from: s.nonNegativeInteger, match: s.tagMatch },
          ['type', 'selector'],
        ),
      },
    },
    async (request, reply) => {
      const { type, selector, from, match } = request.query;
      const spec: ObserveSpec = { type, selector: parseSelector(type, selector) };
      // A reconnecting EventSource repeats the original URL, so its Last-Event-ID wins over `from`.
      const startFrom = resumePosition(request) ?? from;
      if (startFrom !== undefined) spec.startFrom = startFrom;
      if (match !== undefined) spec.options = { tagMatch: match };
      const subscription = await api.observe(request.params.store, spec, callOptions(request));
      await eventStreams.serve(request, reply, subscription);
    },
  );
};

/** A selector written in a query string: JSON for `by_event_payload`, a comma-separated list for `by_tags`. */
export function parseSelector(type: SubscriptionType, text: string): SubscriptionSelector {
  switch (type) {
    case 'by_event_payload': {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new InvalidArgumentError('selector', 'must be a JSON object for by_event_payload');
      }
      return validateSelector(type, value, 'selector');
    }
    case 'by_tags':
      return validateSelector(type, parseNameList(text, 'selector'), 'selector');
    default:
      return validateSelector(type, text, 'selector');
  }
}
