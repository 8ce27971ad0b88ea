/**
 * Where each stream stands (its integer id and current version), answered from memory when possible. Committed
 * state sits in a bounded cache; the appends of an open batch write to an overlay that joins the cache only once
 * their COMMIT has returned, and is dropped if it fails, so the cache never holds anything that is not durable.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';

export interface StreamState {
  /** The stream's row id in `streams`. */
  sid: number;
  /** Version of its last event. */
  version: number;
}

export class StreamIndex {
  readonly #capacity: number;
  readonly #committed = new Map<string, StreamState>();
  readonly #staged = new Map<string, StreamState>();
  readonly #select: StatementSync;

  /** `capacity`: streams kept in memory; older entries are dropped and read again from disk when needed. */
  constructor(db: DatabaseSync, capacity: number) {
    this.#capacity = capacity;
    this.#select = db.prepare(
      'SELECT s.sid, (SELECT max(version) FROM events WHERE sid = s.sid) FROM streams s WHERE s.stream_id = ?',
    );
    this.#select.setReturnArrays(true);
  }

  /** The stream's state including staged appends; undefined when it has no events. */
  get(streamId: string): StreamState | undefined {
    return this.#staged.get(streamId) ?? this.committed(streamId);
  }

  /** The stream's committed state; undefined when it has no events. */
  committed(streamId: string): StreamState | undefined {
    const cached = this.#committed.get(streamId);
    if (cached !== undefined) return cached;
    const row = this.#select.get(streamId) as unknown as [number, number | null] | undefined;
    if (row === undefined || row[1] === null) return undefined;
    // Read outside any staged change (a stream with staged appends is answered from #staged), so this is durable.
    const state = { sid: row[0], version: row[1] };
    this.#remember(streamId, state);
    return state;
  }

  /** Records the outcome of an append in the open batch. */
  stage(streamId: string, state: StreamState): void {
    this.#staged.set(streamId, state);
  }

  /** The batch committed: its staged states are now durable. */
  commitStaged(): void {
    for (const [streamId, state] of this.#staged) this.#remember(streamId, state);
    this.#staged.clear();
  }

  /** The batch failed: forget what it staged. */
  discardStaged(): void {
    this.#staged.clear();
  }

  /** The stream was deleted. */
  forget(streamId: string): void {
    this.#committed.delete(streamId);
  }

  /** Drops everything, so that every stream is read again from disk. */
  clear(): void {
    this.#committed.clear();
    this.#staged.clear();
  }

  #remember(streamId: string, state: StreamState): void {
    // Delete first so the entry moves to the end of the Map's order: eviction drops the least recently written.
    this.#committed.delete(streamId);
    if (this.#committed.size >= this.#capacity) {
      const oldest = this.#committed.keys().next();
      if (oldest.done !== true) this.#committed.delete(oldest.value);
    }
    this.#committed.set(streamId, state);
  }
}
