/**
 * Filtered reads over the whole store (`$all` pages, queries by stream, pattern, type and tag), pushed down into
 * SQL. Each read is one statement, so the events it returns and the head it reports as `scannedTo` come from the
 * same snapshot: since appends commit in position order, every position up to that head is either in the snapshot
 * or deleted, and a reader continuing from `scannedTo + 1` never skips an event.
 *
 * The read is driven by one ordered index range scan where possible:
 * - `streamId`: `events_by_stream` from the first version at or after `fromPosition` (a binary search);
 * - `tags` (all): the events of the first tag, the others checked per row;
 * - `types`, or `tags` (any): one ordered, limited scan per value, merged;
 * - otherwise (`streamPattern` or nothing): the positions themselves (the primary key).
 * The events of a tag are two ordered scans merged: `events_by_first_tag` for events whose first tag it is, and
 * `event_extra_tags` for those that carry it further down their list (each tag of an event is in one place only).
 *
 * The SQL text depends on the filter's shape (which criteria, how many types or tags), so callers can make thousands
 * of texts. The first `preparedShapes` run as prepared statements; later ones run unprepared, so that what every pool
 * connection keeps stays bounded.
 */
import { planFilter } from '../filter-plan.ts';
import type { EventFilter, FilteredRead, RecordedEvent } from '../types.ts';
import { EventDecoder, eventColumns, filteredRead, pageCutSql } from '../event-rows.ts';
import type { Queryable, SqlRunner } from './sql-runner.ts';

interface Query {
  sql: string;
  values: unknown[];
}

/** Collects positional parameters: `bind(v)` returns `$n`. */
class Params {
  readonly values: unknown[] = [];
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export class FilterReader {
  readonly #s: string;
  readonly #runner: SqlRunner;
  readonly #decoder: EventDecoder;
  readonly #byPositions: string;
  readonly #preparedShapes: number;
  /** SQL texts of the shapes that run prepared. */
  readonly #prepared = new Set<string>();

  /** `schema`: the store's quoted schema name. */
  constructor(schema: string, runner: SqlRunner, decoder: EventDecoder, preparedShapes: number) {
    this.#s = schema;
    this.#runner = runner;
    this.#decoder = decoder;
    this.#preparedShapes = preparedShapes;
    this.#byPositions =
      `SELECT ${eventColumns('s.stream_id')} FROM ${schema}.events e JOIN ${schema}.streams s ON s.sid = e.sid ` +
      'WHERE e.position = ANY($1::bigint[]) ORDER BY e.position';
  }

  /** Events matching `filter` (validated) from `fromPosition`, at most `limit`. */
  async read(db: Queryable, filter: EventFilter, fromPosition: number, limit: number): Promise<FilteredRead> {
    const query = this.build(filter, fromPosition, limit);
    const rows = await this.#runner.rows(db, query.sql, query.values, this.#prepares(query.sql));
    const head = (rows[0]?.[0] as number | undefined) ?? -1;
    return filteredRead(this.#decoder.decodePage(rows, 1), limit, head);
  }

  #prepares(sql: string): boolean {
    if (this.#prepared.has(sql)) return true;
    if (this.#prepared.size >= this.#preparedShapes) return false;
    this.#prepared.add(sql);
    return true;
  }

  /** Events at the given positions (those that still exist), by position. */
  async readPositions(db: Queryable, positions: readonly number[]): Promise<RecordedEvent[]> {
    if (positions.length === 0) return [];
    return this.#decoder.decodeAll(await this.#runner.rows(db, this.#byPositions, [positions]));
  }

  /** The statement of a read: the head, then the event columns; one row of NULL events when nothing matches. */
  build(filter: EventFilter, fromPosition: number, limit: number): Query {
    const s = this.#s;
    const p = new Params();
    const inner = this.#inner(filter, fromPosition === 0, p.bind(fromPosition), p.bind(limit), p);
    const page = pageCutSql(inner, 'position');
    return {
      sql:
        `SELECT h.next_position - 1, r.* FROM ${s}.store_head h LEFT JOIN LATERAL (${page}) r ON true ` +
        'ORDER BY r.position',
      values: p.values,
    };
  }

  #inner(filter: EventFilter, fromStart: boolean, from: string, limit: string, p: Params): string {
    const s = this.#s;
    if (filter.streamId !== undefined) {
      const streamId = p.bind(filter.streamId);
      const firstVersion = fromStart ? '0' : `${s}.first_version_at(st.sid, st.last, ${from})`;
      const minVersion = p.bind(filter.minVersion ?? 0);
      const where = ['e.position >= ' + from, ...this.#criteria(filter, p, 'stream')];
      return (
        `SELECT ${eventColumns(`${streamId}::text`)} FROM (SELECT st.sid, ${firstVersion} AS v FROM ` +
        `(SELECT s.sid, (SELECT max(x.version) FROM ${s}.events x WHERE x.sid = s.sid) AS last ` +
        `FROM ${s}.streams s WHERE s.stream_id = ${streamId}) st) fv ` +
        `JOIN ${s}.events e ON e.sid = fv.sid AND e.version >= greatest(fv.v, ${minVersion}) ` +
        `WHERE fv.v IS NOT NULL AND ${where.join(' AND ')} ORDER BY e.version LIMIT ${limit}`
      );
    }

    const { driver, values } = planFilter(filter);
    const others = this.#criteria(filter, p, driver);
    const columns = eventColumns('s.stream_id');

    if (driver === 'position') {
      const where = [`e.position >= ${from}`, ...others];
      return (
        `SELECT ${columns} FROM ${s}.events e JOIN ${s}.streams s ON s.sid = e.sid ` +
        `WHERE ${where.join(' AND ')} ORDER BY e.position LIMIT ${limit}`
      );
    }

    // One ordered, limited branch per driving value (see planFilter).
    const branches = values.map((value) => {
      const v = p.bind(value);
      if (driver === 'types') {
        const where = [`e.event_type = ${v}`, `e.position >= ${from}`, ...others];
        return `(SELECT e.position FROM ${s}.events e WHERE ${where.join(' AND ')} ORDER BY e.position LIMIT ${limit})`;
      }
      const first = [`e.first_tag = ${v}`, `e.position >= ${from}`, ...others];
      const extra = [`t.tag = ${v}`, `t.position >= ${from}`, ...others];
      const join = others.length > 0 ? ` JOIN ${s}.events e ON e.position = t.position` : '';
      return (
        `((SELECT e.position FROM ${s}.events e WHERE ${first.join(' AND ')} ORDER BY e.position LIMIT ${limit}) ` +
        `UNION ALL (SELECT t.position FROM ${s}.event_extra_tags t${join} WHERE ${extra.join(' AND ')} ` +
        `ORDER BY t.position LIMIT ${limit}))`
      );
    });
    // An event has one type, so type branches never overlap; tag branches may (an event with two of the tags). A
    // tag's own two scans never do (see above), hence the parentheses.
    const positions = branches.join(driver === 'types' ? ' UNION ALL ' : ' UNION ');
    return (
      `SELECT ${columns} FROM (${positions}) m JOIN ${s}.events e ON e.position = m.position ` +
      `JOIN ${s}.streams s ON s.sid = e.sid ORDER BY e.position LIMIT ${limit}`
    );
  }

  /** SQL conditions on `e` for every criterion except the driver's, binding their parameters. */
  #criteria(filter: EventFilter, p: Params, driver: 'stream' | 'tags' | 'types' | 'position'): string[] {
    const s = this.#s;
    const where: string[] = [];
    if (driver !== 'stream' && filter.minVersion !== undefined) where.push(`e.version >= ${p.bind(filter.minVersion)}`);
    if (filter.streamPattern !== undefined) {
      where.push(`e.sid IN (SELECT x.sid FROM ${s}.streams x WHERE x.stream_id LIKE ${p.bind(wildcardToLike(filter.streamPattern))})`);
    }
    const types = filter.types ?? [];
    if (driver !== 'types' && types.length > 0) where.push(`e.event_type = ANY(${p.bind(types)}::text[])`);
    const tags = filter.tags ?? [];
    if (tags.length > 0) {
      if (filter.tagMatch === 'all') {
        // The driver already holds the first tag.
        for (let i = driver === 'tags' ? 1 : 0; i < tags.length; i++) {
          const tag = p.bind(tags[i]);
          where.push(
            `(e.first_tag = ${tag} OR EXISTS (SELECT 1 FROM ${s}.event_extra_tags x WHERE x.tag = ${tag} ` +
              'AND x.position = e.position))',
          );
        }
      } else if (driver !== 'tags') {
        const any = p.bind(tags);
        where.push(
          `(e.first_tag = ANY(${any}::text[]) OR EXISTS (SELECT 1 FROM ${s}.event_extra_tags x ` +
            `WHERE x.tag = ANY(${any}::text[]) AND x.position = e.position))`,
        );
      }
    }
    return where;
  }
}

/**
 * A stream-id wildcard (`*` any run of characters, `?` one character) as a LIKE pattern: LIKE's own wildcards (`%`,
 * `_`) and its escape character (`\`) are escaped first. LIKE is case-sensitive, like stream ids.
 */
export function wildcardToLike(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('*', '%').replaceAll('?', '_');
}
