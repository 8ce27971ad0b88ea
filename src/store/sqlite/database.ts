/**
 * Opening a store's SQLite database: its file, its pragmas, its schema, and the lock that keeps every other process
 * out while it is open.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { GaterError, UnavailableError } from '../../errors/index.ts';
import { outcomeUnknown } from '../store-errors.ts';
import { CACHE_SIZE_KIB, WAL_AUTOCHECKPOINT_PAGES } from './constants.ts';
import { migrate } from './schema.ts';

export type SynchronousMode = 'FULL' | 'NORMAL';

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_NOMEM = 7;
const SQLITE_IOERR = 10;

/** `<dataDir>/stores/<storeId>/events.sqlite` */
export function storeDatabasePath(dataDir: string, storeId: string): string {
  return join(dataDir, 'stores', storeId, 'events.sqlite');
}

/**
 * Opens (creating if needed) and migrates the database of a store. The connection runs in WAL mode with
 * `locking_mode=EXCLUSIVE`: it takes SQLite's file lock at once and never gives it back until it closes, so a second
 * process (or a second connection in this one) fails here instead of writing beside us. The operating system drops the
 * lock when the holder dies, even by SIGKILL, and the next open recovers the WAL. A side effect is that WAL needs no
 * shared-memory index (`-shm` file).
 */
export function openStoreDatabase(path: string, storeId: string, synchronous: SynchronousMode): DatabaseSync {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UnavailableError(
      `store '${storeId}' cannot be opened: its directory ${dir} cannot be created: ${(err as Error).message}`,
      { storeId, path: dir },
      { cause: err },
    );
  }
  let db: DatabaseSync | undefined;
  try {
    // timeout 0: a held lock must fail the open now, not after a wait.
    db = new DatabaseSync(path, { timeout: 0, enableForeignKeyConstraints: false });
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    // The first statement that reads the file takes the lock; it fails with SQLITE_BUSY when another holder has it.
    db.exec('PRAGMA journal_mode = WAL');
    // Take the write lock too, so that the lock is exclusive from here on and not only at our first write.
    db.exec('BEGIN IMMEDIATE');
    db.exec('COMMIT');
    db.exec(`PRAGMA synchronous = ${synchronous}`);
    db.exec(`PRAGMA cache_size = -${CACHE_SIZE_KIB}`);
    db.exec('PRAGMA temp_store = MEMORY');
    db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    migrate(db, storeId);
    checkStoreId(db, storeId);
    return db;
  } catch (err) {
    try {
      db?.close();
    } catch {
      // already failing; the original error says why
    }
    if (err instanceof GaterError) throw err;
    if (isBusy(err)) {
      throw new UnavailableError(`store '${storeId}' is in use by another process (${path} is locked)`, { storeId }, {
        cause: err,
      });
    }
    throw new UnavailableError(`store '${storeId}' cannot be opened (${path}): ${(err as Error).message}`, {
      storeId,
      path,
    }, { cause: err });
  }
}

/** A database copied to the wrong place is refused rather than served under another store's name. */
function checkStoreId(db: DatabaseSync, storeId: string): void {
  const row = db.prepare("SELECT value FROM store_meta WHERE key = 'store_id'").get() as { value: string } | undefined;
  if (row === undefined) {
    db.prepare("INSERT INTO store_meta (key, value) VALUES ('store_id', ?)").run(storeId);
  } else if (row.value !== storeId) {
    throw new UnavailableError(`database of store '${row.value}' found where store '${storeId}' was expected`, {
      storeId,
    });
  }
}

/** Whether an error thrown by node:sqlite is SQLITE_BUSY or SQLITE_LOCKED (any extended code). */
export function isBusy(err: unknown): boolean {
  const code = sqliteErrorCode(err);
  return code !== undefined && ((code & 0xff) === SQLITE_BUSY || (code & 0xff) === SQLITE_LOCKED);
}

/**
 * Whether a failed statement that commits (COMMIT, or a write outside a transaction) may have committed all the same.
 * In WAL mode SQLite writes every frame of the transaction, the commit frame last, then syncs the WAL, and only then
 * adds the frames to its in-memory WAL index. When the sync fails (SQLITE_IOERR_FSYNC) the connection reads as if
 * nothing had been written, yet recovery after a restart finds the commit frame and replays it. So any I/O error
 * counts, and so does SQLITE_NOMEM (the index grows in memory after the sync). SQLITE_FULL does not: it comes only
 * from a write into the WAL that did not complete, which leaves no whole commit frame (a partial one fails its
 * checksum and recovery stops before it); a sync failing for want of space is SQLITE_IOERR_FSYNC. Only padding frames,
 * copies of the commit frame written after it, could meet a full disk later, and SQLite writes them only on a device
 * without powersafe overwrite, which Unix is not by default. Constraint and lock failures come before any write.
 */
export function mayHaveCommitted(err: unknown): boolean {
  const code = sqliteErrorCode(err);
  return code !== undefined && ((code & 0xff) === SQLITE_IOERR || (code & 0xff) === SQLITE_NOMEM);
}

/** Runs `commit`, a statement that commits; a failure that may have committed anyway becomes `outcomeUnknown`. */
export function committing<T>(what: string, commit: () => T): T {
  try {
    return commit();
  } catch (err) {
    throw mayHaveCommitted(err) ? outcomeUnknown(what, err) : err;
  }
}

/** The SQLite result code (possibly extended) carried by an error from node:sqlite. */
export function sqliteErrorCode(err: unknown): number | undefined {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Prepared statements for SQL built at run time (filters), least recently used dropped first. Statements for fixed
 * SQL are prepared once by the components that own them.
 */
export class StatementCache {
  readonly #db: DatabaseSync;
  readonly #capacity: number;
  readonly #configure: (statement: StatementSync) => void;
  readonly #statements = new Map<string, StatementSync>();

  /** `configure` is applied once to each statement prepared. */
  constructor(db: DatabaseSync, capacity: number, configure: (statement: StatementSync) => void = () => {}) {
    this.#db = db;
    this.#capacity = capacity;
    this.#configure = configure;
  }

  get(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement !== undefined) {
      // Re-insert to mark it most recently used (Map keeps insertion order).
      this.#statements.delete(sql);
    } else {
      statement = this.#db.prepare(sql);
      this.#configure(statement);
      if (this.#statements.size >= this.#capacity) {
        const oldest = this.#statements.keys().next();
        if (oldest.done !== true) this.#statements.delete(oldest.value);
      }
    }
    this.#statements.set(sql, statement);
    return statement;
  }
}
