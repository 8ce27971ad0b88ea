/**
 * Checks the shape of a call's arguments before it reaches a store. Calls may arrive from the network, so nothing is
 * assumed: every field is type-checked and range-checked here, and the store validates the domain values (events,
 * snapshots, subscription specs) itself. Failures are `invalid_argument` naming the field.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import { SUBSCRIPTION_TYPES, type SubscriptionType } from '../store/types.ts';
import { STORE_OPS, type StoreCall, type StoreCallArgs, type StoreOp } from './protocol.ts';

/** Largest page a single read may ask for. */
export const MAX_READ_COUNT = 10_000;

export type DecodedCall = { [Op in StoreOp]: { op: Op; args: StoreCallArgs<Op> } }[StoreOp];

type Args = Record<string, unknown>;

export function decodeCallArgs(call: StoreCall): DecodedCall {
  if (!STORE_OPS.includes(call.op)) throw new InvalidArgumentError('op', `unknown operation '${String(call.op)}'`);
  const args = (call.args ?? {}) as unknown;
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new InvalidArgumentError('args', 'must be an object');
  }
  const a = args as Args;
  switch (call.op) {
    case 'append':
      return {
        op: 'append',
        args: {
          streamId: str(a, 'streamId'),
          events: array(a, 'events') as StoreCallArgs<'append'>['events'],
          ...(a['expectedVersion'] === undefined ? {} : { expectedVersion: int(a, 'expectedVersion', -4) }),
        },
      };
    case 'readStream':
      return {
        op: 'readStream',
        args: {
          streamId: str(a, 'streamId'),
          count: int(a, 'count', 1, MAX_READ_COUNT),
          ...(a['fromVersion'] === undefined ? {} : { fromVersion: int(a, 'fromVersion', 0) }),
          ...(a['direction'] === undefined ? {} : { direction: oneOf(a, 'direction', ['forward', 'backward'] as const) }),
        },
      };
    case 'readFiltered':
      return {
        op: 'readFiltered',
        args: {
          filter: object(a, 'filter') as StoreCallArgs<'readFiltered'>['filter'],
          fromPosition: int(a, 'fromPosition', 0),
          limit: int(a, 'limit', 1, MAX_READ_COUNT),
        },
      };
    case 'streamVersion':
    case 'deleteStream':
      return { op: call.op, args: { streamId: str(a, 'streamId') } } as DecodedCall;
    case 'listStreams':
    case 'stats':
    case 'listSubscriptions':
      return { op: call.op, args: {} } as DecodedCall;
    case 'recordSnapshot':
      return { op: 'recordSnapshot', args: { snapshot: object(a, 'snapshot') as StoreCallArgs<'recordSnapshot'>['snapshot'] } };
    case 'readSnapshot':
    case 'deleteSnapshot':
      return {
        op: call.op,
        args: { sourceUuid: str(a, 'sourceUuid'), streamUuid: str(a, 'streamUuid'), version: int(a, 'version', 0) },
      } as DecodedCall;
    case 'listSnapshots':
      return {
        op: 'listSnapshots',
        args: a['query'] === undefined ? {} : { query: object(a, 'query') as StoreCallArgs<'listSnapshots'>['query'] & object },
      };
    case 'saveSubscription':
      return { op: 'saveSubscription', args: { spec: object(a, 'spec') as StoreCallArgs<'saveSubscription'>['spec'] } };
    case 'removeSubscription':
      return {
        op: 'removeSubscription',
        args: {
          type: oneOf(a, 'type', SUBSCRIPTION_TYPES) as SubscriptionType,
          selector: a['selector'] as StoreCallArgs<'removeSubscription'>['selector'],
          name: str(a, 'name'),
        },
      };
    case 'getSubscription':
    case 'listParked':
      return { op: call.op, args: { name: str(a, 'name') } } as DecodedCall;
    case 'ack':
      return { op: 'ack', args: { name: str(a, 'name'), positions: positions(a, 'positions') } };
    case 'replayParked':
      return {
        op: 'replayParked',
        args: { name: str(a, 'name'), ...(a['positions'] === undefined ? {} : { positions: positions(a, 'positions') }) },
      };
  }
}

function str(a: Args, field: string): string {
  const v = a[field];
  if (typeof v !== 'string' || v.length === 0) throw new InvalidArgumentError(field, 'must be a non-empty string');
  return v;
}

function int(a: Args, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = a[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}`);
  }
  return v;
}

function array(a: Args, field: string): unknown[] {
  const v = a[field];
  if (!Array.isArray(v)) throw new InvalidArgumentError(field, 'must be an array');
  return v;
}

function object(a: Args, field: string): object {
  const v = a[field];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError(field, 'must be an object');
  return v;
}

function oneOf<const T extends string>(a: Args, field: string, values: readonly T[]): T {
  const v = a[field];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(field, `must be one of ${values.join(', ')}`);
  }
  return v as T;
}

function positions(a: Args, field: string): number[] {
  const list = array(a, field);
  if (list.length > MAX_READ_COUNT) throw new InvalidArgumentError(field, `at most ${MAX_READ_COUNT} positions`);
  return list.map((p, i) => {
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0) {
      throw new InvalidArgumentError(`${field}[${i}]`, 'must be a non-negative integer');
    }
    return p;
  });
}
