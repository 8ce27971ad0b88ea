/**
 * A real PostgreSQL server for tests: Debian's server binaries (`/usr/lib/postgresql/<version>/bin`), a cluster
 * initialised in a temporary directory, listening on 127.0.0.1 and a free port, with trust authentication. PostgreSQL
 * refuses to run as root, so under root the server runs as the `postgres` user. Share one server per test file:
 * `startTestPostgres()` in `before`, `stop()` in `after` (an immediate stop, then the directory is removed).
 *
 * When the machine has no server binaries, or cannot run them as an unprivileged user, `startTestPostgres` returns a
 * reason to skip instead.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './gater-process.ts';

const run = promisify(execFile);
const PG_ROOT = '/usr/lib/postgresql';
const USER = 'gater';

export interface TestPostgres {
  /** The server's version, e.g. `PostgreSQL 15.18 (Debian 15.18-0+deb12u1)`. */
  readonly version: string;
  readonly port: number;
  /** URL of a database on the server. */
  url(database: string): string;
  /** Creates a database with a fresh name; returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server at once (as a crash would) and starts it again on the same port. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stops the server at once; `start()` brings it back. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** The newest installed server's bin directory, or undefined. */
async function findBinaries(): Promise<string | undefined> {
  let versions: string[];
  try {
    versions = await readdir(PG_ROOT);
  } catch {
    return undefined;
  }
  const sorted = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of sorted) {
    try {
      await run(join(PG_ROOT, v, 'bin', 'pg_ctl'), ['--version']);
      return join(PG_ROOT, v, 'bin');
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** A running server, or the reason the tests that need one must skip. */
export async function startTestPostgres(): Promise<TestPostgres | { skip: string }> {
  const bin = await findBinaries();
  if (bin === undefined) return { skip: `no PostgreSQL server binaries under ${PG_ROOT}` };
  const root = userInfo().uid === 0;
  let uid: number | undefined;
  if (root) {
    try {
      uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    } catch {
      return { skip: 'running as root and there is no postgres user to run the server as' };
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'gater-pg-'));
  if (uid !== undefined) await chown(dir, uid, -1);
  // As root, every server command runs as the postgres user.
  const pgRun = (tool: string, args: string[]) =>
    root ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args);
  const data = join(dir, 'data');
  try {
    await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', USER, '--no-sync', '-E', 'UTF8']);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return { skip: `initdb failed: ${(err as Error).message.split('\n')[0]}` };
  }
  const { stdout } = await run(join(bin, 'postgres'), ['--version']);
  let port = 0;
  const start = async (): Promise<void> => {
    await pgRun('pg_ctl', [
      '-D', data, '-l', join(dir, 'log'), '-w', '-t', '60',
      '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300`,
      'start',
    ]);
  };
  const kill = async (): Promise<void> => {
    await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
  };
  let started = false;
  for (let attempt = 0; !started; attempt++) {
    port = await freePort();
    try {
      await start();
      started = true;
    } catch (err) {
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        return { skip: `the PostgreSQL server did not start: ${(err as Error).message.split('\n')[0]}` };
      }
    }
  }
  const url = (database: string) => `postgres://${USER}@127.0.0.1:${port}/${database}`;
  let stopped = false;
  return {
    version: stdout.trim().replace(/^postgres \(PostgreSQL\) /, 'PostgreSQL '),
    port,
    url,
    async createDatabase() {
      const name = `gater_test_${randomBytes(6).toString('hex')}`;
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    kill,
    start,
    async restart(options = {}) {
      await kill();
      if (options.downMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.downMs));
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
