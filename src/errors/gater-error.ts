import { ERROR_CODES, isErrorCode, type ErrorCode } from './codes.ts';

/** Extra, code-specific fields carried by an error (for example `currentVersion`). Plain JSON only. */
export type ErrorData = Record<string, unknown>;

/** The form in which an error crosses a process boundary (RPC frames, HTTP bodies). */
export interface WireError {
  code: ErrorCode;
  message: string;
  data?: ErrorData;
}

/**
 * Every failure gater reports is a GaterError with a stable `code`. Subclasses exist for the codes callers branch on;
 * `fromWire` rebuilds the right class on the caller's side.
 */
export class GaterError extends Error {
  readonly code: ErrorCode;
  readonly data: ErrorData;

  constructor(code: ErrorCode, message?: string, data: ErrorData = {}, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].description, options);
    this.name = 'GaterError';
    this.code = code;
    this.data = data;
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toWire(): WireError {
    return Object.keys(this.data).length === 0
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }

  toJSON(): WireError {
    return this.toWire();
  }
}

export class WrongExpectedVersionError extends GaterError {
  constructor(streamId: string, expectedVersion: number, currentVersion: number) {
    super(
      'wrong_expected_version',
      `stream '${streamId}' is at version ${currentVersion}, expected ${describeExpected(expectedVersion)}`,
      { streamId, expectedVersion, currentVersion },
    );
    this.name = 'WrongExpectedVersionError';
  }

  get currentVersion(): number {
    return this.data['currentVersion'] as number;
  }
}

export class InvalidArgumentError extends GaterError {
  /** `field` names the offending input (a JSON path such as `events[2].eventType`). */
  constructor(field: string, message: string) {
    super('invalid_argument', `${field}: ${message}`, { field });
    this.name = 'InvalidArgumentError';
  }
}

export class NotFoundError extends GaterError {
  constructor(what: string, data: ErrorData = {}) {
    super('not_found', `${what} not found`, data);
    this.name = 'NotFoundError';
  }
}

export class StreamNotFoundError extends GaterError {
  constructor(streamId: string) {
    super('stream_not_found', `stream '${streamId}' not found`, { streamId });
    this.name = 'StreamNotFoundError';
  }
}

export class NoWorkersError extends GaterError {
  constructor(store: string) {
    super('no_workers', `no gateway worker serves store '${store}'`, { store });
    this.name = 'NoWorkersError';
  }
}

export class TimeoutError extends GaterError {
  constructor(what: string, deadlineMs: number) {
    super('timeout', `${what} did not complete within ${deadlineMs} ms`, { deadlineMs });
    this.name = 'TimeoutError';
  }
}

export class UnavailableError extends GaterError {
  constructor(message: string, data: ErrorData = {}, options?: { cause?: unknown }) {
    super('unavailable', message, data, options);
    this.name = 'UnavailableError';
  }
}

function describeExpected(expected: number): string {
  switch (expected) {
    case -1:
      return 'no_stream';
    case -2:
      return 'any';
    case -4:
      return 'stream_exists';
    default:
      return String(expected);
  }
}

/** Rebuilds a typed error from its wire form; anything unrecognised becomes `internal`. */
export function fromWire(wire: unknown): GaterError {
  if (typeof wire !== 'object' || wire === null) return new GaterError('internal', 'malformed error');
  const { code, message, data } = wire as Partial<WireError>;
  const msg = typeof message === 'string' ? message : undefined;
  const d = typeof data === 'object' && data !== null && !Array.isArray(data) ? data : {};
  if (!isErrorCode(code)) return new GaterError('internal', msg ?? 'unknown error', d);
  // The subclass with the message and data that came, not those its constructor would make of them.
  const exactly = (error: GaterError): GaterError => {
    error.message = msg ?? ERROR_CODES[code].description;
    for (const key of Object.keys(error.data)) delete error.data[key];
    copyData(error.data, d);
    return error;
  };
  let error: GaterError;
  switch (code) {
    case 'wrong_expected_version':
      error = new WrongExpectedVersionError(
        String(d['streamId'] ?? ''),
        Number(d['expectedVersion'] ?? -2),
        Number(d['currentVersion'] ?? -1),
      );
      break;
    case 'invalid_argument':
      error = new InvalidArgumentError(String(d['field'] ?? 'request'), '');
      break;
    case 'stream_not_found':
      return exactly(new StreamNotFoundError(''));
    case 'not_found':
      return exactly(new NotFoundError(''));
    case 'no_workers':
      return exactly(new NoWorkersError(''));
    case 'timeout':
      return exactly(new TimeoutError('', 0));
    case 'unavailable':
      return exactly(new UnavailableError(''));
    default:
      error = new GaterError(code, msg, d);
  }
  if (msg !== undefined) error.message = msg;
  copyData(error.data, d);
  return error;
}

/** Wraps anything thrown into a GaterError, keeping GaterErrors as they are. */
export function toGaterError(err: unknown): GaterError {
  if (err instanceof GaterError) return err;
  return new GaterError('internal', err instanceof Error ? err.message : String(err), {}, { cause: err });
}

/**
 * Copies error data received from the network onto `target` key by key. Object.assign would run the `__proto__`
 * setter for a key of that name (JSON.parse makes it an own property) and give `target` a prototype chosen by the
 * sender, whose properties every later read of a missing key would find. No error datum is named `__proto__`.
 */
export function copyData(target: Record<string, unknown>, source: Readonly<Record<string, unknown>>): void {
  for (const key of Object.keys(source)) if (key !== '__proto__') target[key] = source[key];
}
