/**
 * Runs statements on a pool as named prepared statements (parsed once per connection) with rows as arrays, the
 * cheapest form to decode. Statement names are derived from the SQL text, so a name always means one statement.
 * A prepared statement lives as long as its connection, on the server and in the driver: statements whose text
 * varies without bound must run unprepared (`prepare: false`), parsed on every call and kept nowhere.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

/** What statements run on: the pool, one connection (a transaction's), or a bounded call's (call-connection.ts). */
export interface Queryable {
  query(config: pg.QueryConfig | string): Promise<pg.QueryResult>;
}

export class SqlRunner {
  readonly #names = new Map<string, string>();

  /** Rows of `sql` with `values`, each row an array in SELECT order. */
  async rows(db: Queryable, sql: string, values: readonly unknown[] = [], prepare = true): Promise<unknown[][]> {
    const query: pg.QueryArrayConfig = { text: sql, values: values as unknown[], rowMode: 'array' };
    if (prepare) query.name = this.#name(sql);
    const result = await db.query(query);
    return result.rows as unknown[][];
  }

  /** The first row, or undefined. */
  async row(db: Queryable, sql: string, values: readonly unknown[] = []): Promise<unknown[] | undefined> {
    return (await this.rows(db, sql, values))[0];
  }

  /** Rows affected by a statement. */
  async run(db: Queryable, sql: string, values: readonly unknown[] = []): Promise<number> {
    const result = await db.query({ name: this.#name(sql), text: sql, values: values as unknown[] });
    return result.rowCount ?? 0;
  }

  #name(sql: string): string {
    let name = this.#names.get(sql);
    if (name === undefined) {
      name = `gater_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
      this.#names.set(sql, name);
    }
    return name;
  }
}
