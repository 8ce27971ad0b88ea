/**
 * The stable error codes of gater. Every error that leaves a component carries one of these codes; they are part of
 * the public contract (HTTP bodies, the TypeScript client, the RPC wire format), so codes are only ever added.
 */
export interface ErrorCodeSpec {
  /** HTTP status used when the error is returned by the HTTP API. */
  readonly status: number;
  /** Whether the same call may succeed if tried again later or on another worker. */
  readonly retryable: boolean;
  /** What the code means, for documentation and for the default message. */
  readonly description: string;
}

export const ERROR_CODES = {
  no_workers: { status: 503, retryable: true, description: 'no gateway worker serves the store' },
  timeout: { status: 504, retryable: false, description: 'the call did not complete within its deadline' },
  wrong_expected_version: {
    status: 409,
    retryable: false,
    description: 'the stream is not at the expected version; nothing was written (carries currentVersion)',
  },
  stream_not_found: { status: 404, retryable: false, description: 'the stream does not exist' },
  not_found: { status: 404, retryable: false, description: 'the requested item does not exist' },
  invalid_argument: { status: 400, retryable: false, description: 'the request is malformed; nothing was written' },
  unavailable: { status: 503, retryable: true, description: 'the worker or store cannot serve the call right now' },
  unauthorized: { status: 401, retryable: false, description: 'the caller is not allowed to make this call' },
  conflict: {
    status: 409,
    retryable: false,
    description: 'the request conflicts with existing state (for example a subscription name already used)',
  },
  store_conflict: {
    status: 503,
    retryable: false,
    description:
      'more than one node claims this store as an embedded one (or nodes announce it with different backends); ' +
      'calls are refused until only one serves it',
  },
  internal: { status: 500, retryable: false, description: 'an unexpected failure inside gater' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
