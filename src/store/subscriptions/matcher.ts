/**
 * Compiles a subscription's (type, selector) into the two halves every reader needs: a filter a backend can push down
 * into its query, and the full predicate. The predicate re-checks everything the filter says (live notifications carry
 * every committed event, unfiltered) and adds what no backend evaluates: the payload match.
 */
import { InvalidArgumentError } from '../../errors/index.ts';
import type { EventFilter, RecordedEvent, SubscriptionSelector, SubscriptionType } from '../types.ts';

/** The stream selector of a `by_stream` subscription that selects every stream. */
export const ALL_STREAMS = '$all';

export interface MatcherOptions {
  /**
   * The subscription's `startFrom`, meaningful only for `by_stream` of one stream, where it is a stream version and
   * becomes `filter.minVersion`. For every other type `startFrom` is a global position: the cursor's business, ignored
   * here. @default 0
   */
  startFrom?: number;
  /** For `by_tags`: whether any or all of the selector's tags must be present. @default 'any' */
  tagMatch?: 'any' | 'all';
}

export interface EventMatcher {
  /** What a backend can evaluate (stream, version, types, tags). */
  readonly filter: EventFilter;
  /** The complete predicate, filter included. */
  matches(event: RecordedEvent): boolean;
}

export function compileMatcher(
  type: SubscriptionType,
  selector: SubscriptionSelector,
  options: MatcherOptions = {},
): EventMatcher {
  const tagMatch = options.tagMatch ?? 'any';
  if (tagMatch !== 'any' && tagMatch !== 'all') {
    throw new InvalidArgumentError('options.tagMatch', `must be 'any' or 'all'`);
  }
  const startFrom = options.startFrom ?? 0;
  if (!Number.isSafeInteger(startFrom) || startFrom < 0) {
    throw new InvalidArgumentError('startFrom', 'must be a non-negative integer');
  }
  switch (type) {
    case 'by_stream': {
      const streamId = requireName(selector, 'a stream id or $all');
      if (streamId === ALL_STREAMS) return { filter: {}, matches: () => true };
      const filter: EventFilter = startFrom > 0 ? { streamId, minVersion: startFrom } : { streamId };
      return {
        filter,
        matches: (e) => e.streamId === streamId && e.version >= startFrom,
      };
    }
    case 'by_event_type': {
      const eventType = requireName(selector, 'an event type');
      return { filter: { types: [eventType] }, matches: (e) => e.eventType === eventType };
    }
    case 'by_event_pattern': {
      const pattern = requireName(selector, 'a stream-id wildcard such as greenhouse-*');
      const matchesId = compileWildcard(pattern);
      return { filter: { streamPattern: pattern }, matches: (e) => matchesId(e.streamId) };
    }
    case 'by_event_payload': {
      if (!isPlainObject(selector)) {
        throw new InvalidArgumentError('selector', 'must be a JSON object matched against the event data');
      }
      validatePayloadSelector(selector, 'selector');
      return { filter: {}, matches: (e) => payloadMatches(selector, e.data) };
    }
    case 'by_tags': {
      if (!Array.isArray(selector) || selector.length === 0) {
        throw new InvalidArgumentError('selector', 'must be a non-empty list of tags');
      }
      selector.forEach((tag, i) => {
        if (typeof tag !== 'string' || tag.length === 0) {
          throw new InvalidArgumentError(`selector[${i}]`, 'must be a non-empty string');
        }
      });
      const tags = [...new Set(selector as string[])];
      const matches =
        tagMatch === 'all'
          ? (e: RecordedEvent) => tags.every((t) => e.tags.includes(t))
          : (e: RecordedEvent) => tags.some((t) => e.tags.includes(t));
      return { filter: { tags, tagMatch }, matches };
    }
    default:
      throw new InvalidArgumentError('type', `unknown subscription type '${String(type)}'`);
  }
}

/** Pattern items of `compileWildcard`: a code point, or one of these. */
const ANY_RUN = -1;
const ANY_ONE = -2;

/**
 * A stream-id wildcard as a predicate over the whole id: `*` any run of characters (possibly empty), `?` exactly one
 * character (code point), everything else literal. It runs on every live event, so it must stay cheap whatever a
 * caller sends: a backtracking regular expression takes time exponential in the stars (`*a*a*a*a*a*a*b` against 60
 * `a`s ran for minutes and froze the node). This walks the id once, going back only to the last star, so it costs at
 * most pattern × id steps.
 */
export function compileWildcard(pattern: string): (text: string) => boolean {
  const items: number[] = [];
  for (const ch of pattern) {
    const item = ch === '*' ? ANY_RUN : ch === '?' ? ANY_ONE : ch.codePointAt(0)!;
    // Consecutive stars match what one does.
    if (item !== ANY_RUN || items.at(-1) !== ANY_RUN) items.push(item);
  }
  return (text) => wildcardMatches(items, text);
}

function wildcardMatches(items: readonly number[], text: string): boolean {
  let item = 0;
  let at = 0;
  // The last star seen, and where in the text the run it matches currently ends.
  let star = -1;
  let starEnd = 0;
  while (at < text.length) {
    const cp = text.codePointAt(at)!;
    const width = cp > 0xffff ? 2 : 1;
    const want = items[item];
    if (want === ANY_RUN) {
      star = item++;
      starEnd = at;
    } else if (want !== undefined && (want === ANY_ONE || want === cp)) {
      item++;
      at += width;
    } else if (star >= 0) {
      // Let the last star take one more character and try the rest of the pattern from there.
      starEnd += text.codePointAt(starEnd)! > 0xffff ? 2 : 1;
      item = star + 1;
      at = starEnd;
    } else {
      return false;
    }
  }
  while (items[item] === ANY_RUN) item++;
  return item === items.length;
}

/**
 * Deep partial match of a payload selector against event data: every selector key must be present in the data and
 * match recursively; arrays match element-wise and must have the same length; `{ $exists: true }` matches any value
 * (`{ $exists: false }`: the key is absent); everything else compares by value.
 */
export function payloadMatches(selector: unknown, data: unknown): boolean {
  const exists = existsOperand(selector);
  if (exists !== undefined) return exists; // the value is there: it exists
  if (isPlainObject(selector)) {
    if (!isPlainObject(data)) return false;
    for (const [key, want] of Object.entries(selector)) {
      if (!fieldMatches(want, Object.hasOwn(data, key), data[key])) return false;
    }
    return true;
  }
  if (Array.isArray(selector)) {
    if (!Array.isArray(data) || data.length !== selector.length) return false;
    return selector.every((want, i) => payloadMatches(want, data[i]));
  }
  return selector === data;
}

function fieldMatches(want: unknown, present: boolean, value: unknown): boolean {
  const exists = existsOperand(want);
  if (exists !== undefined) return present === exists;
  return present && payloadMatches(want, value);
}

function existsOperand(value: unknown): boolean | undefined {
  if (!isPlainObject(value) || !Object.hasOwn(value, '$exists')) return undefined;
  return value['$exists'] as boolean;
}

/** Rejects anything that is not JSON, and malformed `$exists` operators, naming the offending path. */
function validatePayloadSelector(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(path, 'must be a finite number');
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => validatePayloadSelector(item, `${path}[${i}]`));
    return;
  }
  if (!isPlainObject(value)) throw new InvalidArgumentError(path, 'must be a JSON value');
  if (Object.hasOwn(value, '$exists')) {
    if (Object.keys(value).length !== 1 || typeof value['$exists'] !== 'boolean') {
      throw new InvalidArgumentError(path, '$exists must stand alone with a boolean value, as in { "$exists": true }');
    }
    return;
  }
  for (const [key, item] of Object.entries(value)) validatePayloadSelector(item, `${path}.${key}`);
}

function requireName(selector: SubscriptionSelector, what: string): string {
  if (typeof selector !== 'string' || selector.length === 0) {
    throw new InvalidArgumentError('selector', `must be ${what}`);
  }
  return selector;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
