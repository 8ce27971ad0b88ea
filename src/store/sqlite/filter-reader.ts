/**
 * Filtered reads over the whole store (`$all` pages, queries by stream, pattern, type and tag), pushed down into
 * SQL. Each read is driven by one ordered index range scan that yields events in position order and can stop after
 * `limit` matches:
 *
 * - `streamId`: `events_by_stream` from the first version at or after `fromPosition`;
 * - `tags` (all): `event_tags` for the first tag, the others checked by primary-key lookups;
 * - `types`, or `tags` (any): one range scan per value, each limited, merged by a UNION;
 * - otherwise (`streamPattern` or nothing): the positions themselves (the table's primary key), the matching stream
 *   ids gathered once per read. Over a whole pass this reads each position once, however sparse the matches.
 *
 * The remaining criteria are checked on the rows the driver yields.
 */
import { planFilter } from '../filter-plan.ts';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { EventFilter, FilteredRead, RecordedEvent } from '../types.ts';
import { StatementCache } from './database.ts';
import { eventColumns, filteredRead, type EventDecoder } from '../event-rows.ts';
import type { StreamIndex } from './stream-index.ts';

type Params = Record<string, SQLInputValue>;

interface Query {
  sql: string;
  params: Params;
}

export class FilterReader {
  readonly #db: DatabaseSync;
  readonly #streams: StreamIndex;
  readonly #decoder: EventDecoder;
  readonly #statements: StatementCache;
  readonly #positionOfVersion: StatementSync;
  readonly #byPositions: StatementSync;

  /** `statementCacheSize`: filter shapes whose prepared statements are kept. */
  constructor(db: DatabaseSync, streams: StreamIndex, decoder: EventDecoder, statementCacheSize: number) {
    this.#db = db;
    this.#streams = streams;
    this.#decoder = decoder;
    this.#statements = new StatementCache(db, statementCacheSize, (statement) => {
      statement.setReturnArrays(true);
      statement.setAllowUnknownNamedParameters(true);
    });
    this.#positionOfVersion = db.prepare('SELECT position FROM events WHERE sid = ? AND version = ?');
    this.#positionOfVersion.setReturnArrays(true);
    this.#byPositions = db.prepare(
      `SELECT ${eventColumns('s.stream_id')} FROM events e JOIN streams s ON s.sid = e.sid ` +
        'WHERE e.position IN (SELECT value FROM json_each(?)) ORDER BY e.position',
    );
    this.#byPositions.setReturnArrays(true);
  }

  /**
   * Events matching `filter` (validated) from `fromPosition`, at most `limit`. `head` is the last committed
   * position, reported as `scannedTo` when the page is not full.
   */
  read(filter: EventFilter, fromPosition: number, limit: number, head: number): FilteredRead {
    const query = this.#build(filter, fromPosition, limit);
    if (query === undefined) return { events: [], scannedTo: head };
    const statement = this.#statements.get(query.sql);
    return filteredRead(this.#decoder.decodePage(statement.iterate(query.params)), limit, head);
  }

  /** The query plan SQLite chooses for a filter, one line per step (for tests and diagnosis). */
  plan(filter: EventFilter, fromPosition: number, limit: number): string[] {
    const query = this.#build(filter, fromPosition, limit);
    if (query === undefined) return [];
    const rows = this.#db.prepare(`EXPLAIN QUERY PLAN ${query.sql}`);
    rows.setAllowUnknownNamedParameters(true);
    return rows.all(query.params).map((row) => String(row['detail']));
  }

  /** Events at the given positions (those that still exist), by position. */
  readPositions(positions: readonly number[]): RecordedEvent[] {
    if (positions.length === 0) return [];
    return this.#decoder.decodeAll(this.#byPositions.all(JSON.stringify(positions)));
  }

  /** The SQL of a read, or undefined when nothing can match. */
  #build(filter: EventFilter, fromPosition: number, limit: number): Query | undefined {
    const params: Params = { from: fromPosition, limit };
    if (filter.streamId !== undefined) {
      const stream = this.#streams.committed(filter.streamId);
      if (stream === undefined) return undefined;
      const fromVersion = this.#firstVersionAt(stream.sid, stream.version, fromPosition);
      if (fromVersion === undefined) return undefined;
      params['sid'] = stream.sid;
      params['streamId'] = filter.streamId;
      params['version'] = Math.max(fromVersion, filter.minVersion ?? 0);
      const where = ['e.sid = :sid', 'e.version >= :version', ...this.#criteria(filter, params, 'stream')];
      return {
        sql:
          `SELECT ${eventColumns(':streamId')} FROM events e INDEXED BY events_by_stream ` +
          `WHERE ${where.join(' AND ')} ORDER BY e.version LIMIT :limit`,
        params,
      };
    }

    const { driver, values } = planFilter(filter);
    const others = this.#criteria(filter, params, driver);
    const columns = eventColumns('s.stream_id');

    if (driver === 'position') {
      const where = ['e.position >= :from', ...others];
      return {
        sql:
          `SELECT ${columns} FROM events e JOIN streams s ON s.sid = e.sid ` +
          `WHERE ${where.join(' AND ')} ORDER BY e.position LIMIT :limit`,
        params,
      };
    }

    // One ordered, limited branch per driving value (see planFilter).
    const branches = values.map((value, i) => {
      const name = `${driver === 'types' ? 't' : 'g'}${i}`;
      params[name] = value;
      return driver === 'types' ? typeBranch(name, others) : tagBranch(name, others);
    });
    const positions =
      branches.length === 1
        ? branches[0]!
        : `${branches.map((b) => `SELECT position FROM (${b})`).join(' UNION ')} ORDER BY 1 LIMIT :limit`;
    return {
      sql:
        `SELECT ${columns} FROM (${positions}) p JOIN events e ON e.position = p.position ` +
        'JOIN streams s ON s.sid = e.sid ORDER BY e.position',
      params,
    };
  }

  /** SQL conditions on `e` for every criterion except the driver's, binding their parameters. */
  #criteria(filter: EventFilter, params: Params, driver: 'stream' | 'tags' | 'types' | 'position'): string[] {
    const where: string[] = [];
    if (driver === 'stream') where.push('e.position >= :from');
    else if (filter.minVersion !== undefined) {
      params['minVersion'] = filter.minVersion;
      where.push('e.version >= :minVersion');
    }
    if (filter.streamPattern !== undefined) {
      params['glob'] = wildcardToGlob(filter.streamPattern);
      // The unary + keeps SQLite from driving the read by stream (and sorting every match) instead of by position.
      where.push('+e.sid IN (SELECT sid FROM streams WHERE stream_id GLOB :glob)');
    }
    const types = filter.types ?? [];
    if (driver !== 'types' && types.length > 0) {
      where.push(`e.event_type IN (${bindList(params, 'ft', types)})`);
    }
    const tags = filter.tags ?? [];
    if (tags.length > 0) {
      if (filter.tagMatch === 'all') {
        // The driver already holds the first tag.
        const from = driver === 'tags' ? 1 : 0;
        for (let i = from; i < tags.length; i++) {
          params[`fg${i}`] = tags[i]!;
          where.push(`EXISTS (SELECT 1 FROM event_tags x WHERE x.tag = :fg${i} AND x.position = e.position)`);
        }
      } else if (driver !== 'tags') {
        where.push(
          `EXISTS (SELECT 1 FROM event_tags x WHERE x.tag IN (${bindList(params, 'fg', tags)}) ` +
            'AND x.position = e.position)',
        );
      }
    }
    return where;
  }

  /**
   * The first version of a stream whose position is at least `fromPosition`, by binary search over the versions
   * (positions grow with versions within a stream); undefined when every event of the stream is before it.
   */
  #firstVersionAt(sid: number, lastVersion: number, fromPosition: number): number | undefined {
    if (fromPosition === 0) return 0;
    let lo = 0;
    let hi = lastVersion + 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const row = this.#positionOfVersion.get(sid, mid) as unknown as [number] | undefined;
      // Versions are contiguous, so a missing row only happens past the end.
      if (row !== undefined && row[0] < fromPosition) lo = mid + 1;
      else hi = mid;
    }
    return lo > lastVersion ? undefined : lo;
  }
}

function typeBranch(name: string, others: readonly string[]): string {
  const where = [`e.event_type = :${name}`, 'e.position >= :from', ...others];
  return (
    `SELECT e.position FROM events e INDEXED BY events_by_type WHERE ${where.join(' AND ')} ` +
    'ORDER BY e.position LIMIT :limit'
  );
}

function tagBranch(name: string, others: readonly string[]): string {
  const where = [`t.tag = :${name}`, 't.position >= :from', ...others];
  const join = others.length > 0 ? ' JOIN events e ON e.position = t.position' : '';
  return `SELECT t.position FROM event_tags t${join} WHERE ${where.join(' AND ')} ORDER BY t.position LIMIT :limit`;
}

function bindList(params: Params, prefix: string, values: readonly string[]): string {
  return values
    .map((value, i) => {
      params[`${prefix}${i}`] = value;
      return `:${prefix}${i}`;
    })
    .join(', ');
}

/**
 * A stream-id wildcard (`*` any run, `?` one character) as a GLOB pattern. GLOB's own wildcards are the same two;
 * its only other special character is `[`, which opens a character class and is written `[[]` to stand for itself.
 * GLOB is case-sensitive, like stream ids, and SQLite narrows it to an index range by its literal prefix.
 */
export function wildcardToGlob(pattern: string): string {
  return pattern.replaceAll('[', '[[]');
}
