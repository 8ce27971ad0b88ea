/**
 * How errors become HTTP responses: `{ error: { code, message, ...data } }` with the status of the code. GaterErrors
 * keep their code and data; Fastify's own request errors (bad JSON, too large, wrong content type, a path that does
 * not decode or has a parameter too long) are `invalid_argument` with Fastify's status; anything else is a 500
 * `internal` whose details stay in the log.
 */
import type { ErrorObject } from 'ajv';
import { GaterError, InvalidArgumentError, copyData, type ErrorCode } from '../errors/index.ts';
import { toInvalidArgument, type HttpPart } from './validation.ts';

/** The message of every 500: the details are logged, never sent. */
export const INTERNAL_MESSAGE = 'internal error';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; [key: string]: unknown };
}

export interface ErrorReply {
  status: number;
  body: ErrorBody;
  /** The error as a GaterError (`internal` for anything unexpected, which deserves an error log). */
  error: GaterError;
}

/** The shape Fastify gives a failed request: its validation errors, or a client error with a status. */
interface FastifyRequestError {
  validation?: ErrorObject[];
  validationContext?: HttpPart;
  statusCode?: number;
  code?: string;
  message?: string;
}

/**
 * How the store's errors name what a request calls otherwise: each key a field or field prefix of the store's, each
 * value the request's name for it ('' where the request's body is that object itself). The store validates objects
 * the routes build from paths, queries and bodies (`validateStreamId(stream)`, `filter.tags` from `?tags=`, the
 * snapshot from its path and body), and the caller must learn which of its inputs was wrong in its own terms.
 */
const REQUEST_FIELD_NAMES: Readonly<Record<string, string>> = {
  streamId: 'stream',
  'filter.tags': 'tags',
  'filter.types': 'types',
  'spec.name': 'name',
  snapshot: '',
};

/** `field` in the request's terms. */
function requestField(field: string): string {
  for (const [called, asked] of Object.entries(REQUEST_FIELD_NAMES)) {
    if (field === called) return asked === '' ? 'body' : asked;
    const next = field.charAt(called.length);
    if (field.startsWith(called) && (next === '.' || next === '[')) {
      return asked === '' ? field.slice(called.length + (next === '.' ? 1 : 0)) : asked + field.slice(called.length);
    }
  }
  return field;
}

export function errorReply(err: unknown): ErrorReply {
  let error: GaterError;
  let status: number | undefined;
  if (err instanceof GaterError) {
    error = err;
  } else {
    const e = (typeof err === 'object' && err !== null ? err : {}) as FastifyRequestError;
    const pathMessage = e.code === undefined ? undefined : PATH_ERRORS[e.code];
    if (Array.isArray(e.validation)) {
      error = toInvalidArgument(e.validation, e.validationContext ?? 'body');
    } else if (pathMessage !== undefined && isClientError(e)) {
      // Refused by the router before any route matched. Its own message echoes the whole path, which may be
      // kilobytes long (the reason for refusing it), so ours says what is wrong instead.
      error = new InvalidArgumentError('path', pathMessage);
      status = e.statusCode;
    } else if (isClientError(e)) {
      // A request Fastify refused before any handler ran: malformed JSON (400), body too large (413), unsupported
      // content type (415). The caller's mistake, so invalid_argument, with Fastify's more precise status.
      error = new InvalidArgumentError('body', e.message ?? 'is invalid');
      status = e.statusCode;
    } else {
      error = new GaterError('internal', err instanceof Error ? err.message : String(err), {}, { cause: err });
    }
  }
  const { code } = error;
  if (code === 'internal') {
    // Whatever went wrong inside stays in the log (paths, SQL, stack); the caller learns only that it was not them.
    return { status: error.status, body: { error: { code, message: INTERNAL_MESSAGE } }, error };
  }
  let { message } = error;
  // Code and message first, and never overwritten by the data.
  const fields: Record<string, unknown> = { code, message };
  copyData(fields, error.data);
  const field = fields['field'];
  if (code === 'invalid_argument' && typeof field === 'string') {
    // Named as the request names it; the message starts with the field (InvalidArgumentError).
    const asked = requestField(field);
    if (message.startsWith(`${field}: `)) message = `${asked}: ${message.slice(field.length + 2)}`;
    fields['field'] = asked;
  }
  fields['code'] = code;
  fields['message'] = message;
  const body: ErrorBody = { error: fields as ErrorBody['error'] };
  return { status: status ?? error.status, body, error };
}

/**
 * The router's refusals of a path (Fastify's `frameworkErrors`), by Fastify code: 400 for a path that is not valid
 * percent-encoded UTF-8, 414 for a parameter longer than the router's maxParamLength.
 */
const PATH_ERRORS: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: 'is not valid percent-encoded UTF-8',
  FST_ERR_MAX_PARAM_LENGTH: 'has a parameter too long',
};

function isClientError(e: FastifyRequestError): e is FastifyRequestError & { statusCode: number } {
  return (
    typeof e.statusCode === 'number' &&
    e.statusCode >= 400 &&
    e.statusCode < 500 &&
    typeof e.code === 'string' &&
    e.code.startsWith('FST_')
  );
}
