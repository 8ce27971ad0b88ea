/**
 * Keeps a data directory to one running node. The node's identity lives there (its peer key and incarnation): two
 * nodes started on one directory would share a node id, and each would take the other's records for a newer self.
 * The lock is an SQLite file held in exclusive locking mode: the operating system drops it when its holder dies, even
 * by SIGKILL, so a crashed node never leaves a stale lock behind.
 */
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { UnavailableError } from '../errors/index.ts';
import { makeDirectory } from '../util/make-directory.ts';

const LOCK_FILE = 'node.lock';

export class DataDirLock {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Takes the lock of `dataDir`, creating the directory; throws `unavailable` naming it when it cannot be created or
   * another node holds it.
   */
  static acquire(dataDir: string): DataDirLock {
    try {
      makeDirectory(dataDir);
    } catch (err) {
      throw new UnavailableError(
        `the data directory ${dataDir} cannot be created: ${(err as Error).message} (GATER_DATA_DIR)`,
        { dataDir },
        { cause: err },
      );
    }
    const path = join(dataDir, LOCK_FILE);
    let db: DatabaseSync | undefined;
    try {
      // timeout 0: a held lock fails now. The write takes the lock, and exclusive mode keeps it until close.
      db = new DatabaseSync(path, { timeout: 0 });
      db.exec('PRAGMA locking_mode = EXCLUSIVE');
      db.exec('BEGIN IMMEDIATE');
      db.exec('COMMIT');
      return new DataDirLock(db);
    } catch (err) {
      try {
        db?.close();
      } catch {
        // already failing; the original error says why
      }
      const busy = /locked|busy/i.test((err as Error).message);
      throw new UnavailableError(
        busy
          ? `the data directory ${dataDir} is in use by another gater node; give each node its own (GATER_DATA_DIR)`
          : `the data directory ${dataDir} cannot be used: ${(err as Error).message} (GATER_DATA_DIR)`,
        { dataDir },
        { cause: err },
      );
    }
  }

  release(): void {
    try {
      this.#db.close();
    } catch {
      // closing a lock file cannot lose anything
    }
  }
}
