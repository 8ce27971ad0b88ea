/**
 * Expected versions: parsing them from user input and checking them against a stream's current version. Shared by
 * every backend so that the rule is the same everywhere.
 */
import { InvalidArgumentError, WrongExpectedVersionError } from '../errors/index.ts';
import { ExpectedVersion } from './types.ts';

const NAMES: ReadonlyMap<string, number> = new Map([
  ['no_stream', ExpectedVersion.NoStream],
  ['any', ExpectedVersion.Any],
  ['stream_exists', ExpectedVersion.StreamExists],
]);

const NUMERIC = /^-?\d+$/;

/**
 * Reads an expected version from user input: a stream version (integer >= 0), one of the sentinels -1 (`no_stream`),
 * -2 (`any`), -4 (`stream_exists`), as a number or a numeric string, or a sentinel's name. Absent (`undefined` or
 * `null`) means `any`. Anything else is an InvalidArgumentError naming `field`.
 */
export function parseExpectedVersion(value: unknown, field = 'expectedVersion'): number {
  if (value === undefined || value === null) return ExpectedVersion.Any;
  let n: number;
  if (typeof value === 'number') {
    n = value;
  } else if (typeof value === 'string') {
    const named = NAMES.get(value);
    if (named !== undefined) return named;
    if (!NUMERIC.test(value)) throw invalid(field);
    n = Number(value);
  } else {
    throw invalid(field);
  }
  if (!Number.isSafeInteger(n)) throw invalid(field);
  if (n >= 0 || n === ExpectedVersion.NoStream || n === ExpectedVersion.Any || n === ExpectedVersion.StreamExists) {
    return n;
  }
  throw invalid(field);
}

/** Whether a stream at `current` (-1 when it has no events) satisfies `expected`. */
export function satisfiesExpectedVersion(expected: number, current: number): boolean {
  switch (expected) {
    case ExpectedVersion.Any:
      return true;
    case ExpectedVersion.NoStream:
      return current === -1;
    case ExpectedVersion.StreamExists:
      return current >= 0;
    default:
      return current === expected;
  }
}

/** Throws WrongExpectedVersionError (carrying `current`) when the stream is not where the caller expects it. */
export function checkExpectedVersion(streamId: string, expected: number, current: number): void {
  if (!satisfiesExpectedVersion(expected, current)) throw new WrongExpectedVersionError(streamId, expected, current);
}

function invalid(field: string): InvalidArgumentError {
  return new InvalidArgumentError(
    field,
    'must be a stream version (integer >= 0), no_stream (-1), any (-2) or stream_exists (-4)',
  );
}
