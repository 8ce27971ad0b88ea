/**
 * Input read from a request beyond what a JSON schema expresses: the call deadline header, comma-separated lists and
 * the resume position of an event stream. Failures are InvalidArgumentErrors naming the header or parameter.
 */
import type { FastifyRequest } from 'fastify';
import { InvalidArgumentError } from '../errors/index.ts';
import type { CallOptions } from '../gateway/gater-api.ts';
import { NAME_MAX_LENGTH, TAGS_PER_EVENT_MAX } from '../store/validate.ts';

/** The header that sets a call's deadline in milliseconds. */
export const DEADLINE_HEADER = 'x-gater-deadline-ms';
/** The longest deadline a caller may ask for: ten minutes. */
export const MAX_DEADLINE_MS = 600_000;

/** The call options of a request: its deadline, when the caller set one. */
export function callOptions(request: FastifyRequest): CallOptions {
  const raw = request.headers[DEADLINE_HEADER];
  if (raw === undefined) return {};
  const deadlineMs = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(deadlineMs >= 1 && deadlineMs <= MAX_DEADLINE_MS)) {
    throw new InvalidArgumentError(DEADLINE_HEADER, `must be an integer from 1 to ${MAX_DEADLINE_MS}`);
  }
  return { deadlineMs };
}

/** `a, b,c` → `['a', 'b', 'c']`: at least one name, each a valid event type or tag. */
export function parseNameList(value: string, field: string): string[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new InvalidArgumentError(field, 'must be a comma-separated list of names');
  if (names.length > TAGS_PER_EVENT_MAX) throw new InvalidArgumentError(field, `must hold at most ${TAGS_PER_EVENT_MAX} names`);
  const tooLong = names.findIndex((n) => n.length > NAME_MAX_LENGTH);
  if (tooLong >= 0) throw new InvalidArgumentError(`${field}[${tooLong}]`, `must be at most ${NAME_MAX_LENGTH} characters`);
  return names;
}

/**
 * Where a resumed event stream starts: one past the `Last-Event-ID` an EventSource sends when it reconnects (our
 * event ids are global positions), or undefined when the header is absent or empty (an empty last event id is
 * the one a stream has before its first event: nothing to resume after).
 */
export function resumePosition(request: FastifyRequest): number | undefined {
  const raw = request.headers['last-event-id'];
  if (raw === undefined || (typeof raw === 'string' && raw.trim() === '')) return undefined;
  const id = typeof raw === 'string' && /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(id)) throw new InvalidArgumentError('Last-Event-ID', 'must be the position of an event (integer >= 0)');
  return id + 1;
}
