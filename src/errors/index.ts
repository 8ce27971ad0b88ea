export { ERROR_CODES, isErrorCode, type ErrorCode, type ErrorCodeSpec } from './codes.ts';
export {
  GaterError,
  WrongExpectedVersionError,
  InvalidArgumentError,
  NotFoundError,
  StreamNotFoundError,
  NoWorkersError,
  TimeoutError,
  UnavailableError,
  fromWire,
  copyData,
  toGaterError,
  type WireError,
  type ErrorData,
} from './gater-error.ts';
