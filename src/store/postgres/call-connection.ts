/**
 * One store call's own connection, bounded by its caller: when the caller's deadline passes or its signal aborts, the
 * statement running for it is cancelled at the server (a CancelRequest, what psql sends on Ctrl-C) and no further
 * statement of the call starts. Without it a caller that gave up leaves its statement running, and holding its locks,
 * until the node's statement timeout, and a retrying caller stacks one such statement per attempt.
 *
 * The connection is taken from the pool at the call's first statement (a call refused by validation takes none), and
 * waiting for it is bounded by the caller too. It goes back to the pool at the end of the call, unless a statement
 * failed (as the pool itself does) or the call was stopped after its first statement: a cancel that reaches the
 * server after its statement ended would hit the next one run on that connection, and a transaction stopped between
 * two statements is still open on it. Discarding the connection ends that transaction.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type pg from 'pg';
import { GaterError, UnavailableError } from '../../errors/index.ts';
import type { CallOptions } from '../event-store.ts';
import { outcomeUnknown } from '../store-errors.ts';
import { QUERY_CANCELED, checkOut, mayHaveCommitted, sqlState, storageError } from './database.ts';
import type { Queryable } from './sql-runner.ts';

/** Milliseconds a cancel request may take to reach the server before its socket is dropped. */
const CANCEL_REQUEST_TIMEOUT_MS = 5_000;
/** The protocol's CancelRequest code (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;

/** Runs `work` on a connection of `pool` of its own, bounded by `call` (see the file's comment). */
export async function withCallConnection<T>(
  pool: pg.Pool,
  call: CallOptions | undefined,
  work: (db: CallConnection) => Promise<T>,
): Promise<T> {
  const connection = new CallConnection(pool, call ?? {});
  try {
    return await work(connection);
  } finally {
    connection.end();
  }
}

/**
 * Runs `write` (statements that commit by themselves, not safe to repeat) on a call connection. Failing to get the
 * connection sent nothing and is `unavailable`. A failure after that which may have committed (see mayHaveCommitted)
 * becomes `outcomeUnknown(what)`, so that the caller reads before repeating it; any other is thrown as it is (a server
 * error keeps its SQLSTATE; a GaterError is an answer, such as not_found or the call's own timeout).
 */
export function writeOnce<T>(
  pool: pg.Pool,
  what: string,
  write: (db: Queryable) => Promise<T>,
  call?: CallOptions,
): Promise<T> {
  return withCallConnection(pool, call, async (db) => {
    try {
      return await write(db);
    } catch (err) {
      if (err instanceof GaterError) throw err;
      throw mayHaveCommitted(err) ? outcomeUnknown(what, err) : err;
    }
  });
}

/** A connection taken for one call at its first statement, running the call's statements one at a time. */
export class CallConnection implements Queryable {
  readonly #pool: pg.Pool;
  readonly #call: CallOptions;
  #checkedOut: Promise<CheckedOut> | undefined;
  #client: pg.PoolClient | undefined;
  /** Rejected with the call's error when it is stopped: ends a wait for the connection. */
  readonly #stopping = Promise.withResolvers<never>();
  #timer: NodeJS.Timeout | undefined;
  readonly #onAbort = (): void => this.#stop();
  #running = 0;
  #stopped: GaterError | undefined;
  #failed = false;
  #sent = false;
  #ended = false;

  constructor(pool: pg.Pool, call: CallOptions) {
    this.#pool = pool;
    this.#call = call;
    this.#stopping.promise.catch(() => {});
  }

  /**
   * Runs a statement. Fails with the call's own error once it was stopped (nothing sent), with `unavailable` when no
   * connection could be had (nothing sent either), and as the driver fails otherwise.
   */
  async query(config: pg.QueryConfig | string): Promise<pg.QueryResult> {
    if (this.#stopped === undefined && stopReason(this.#call) !== undefined) this.#stop();
    if (this.#stopped !== undefined) throw this.#stopped;
    const client = this.#client ?? (await Promise.race([this.#connect(), this.#stopping.promise]));
    this.#running++;
    this.#sent = true;
    try {
      return await client.query(config as pg.QueryConfig);
    } catch (err) {
      this.#failed = true;
      // Cancelled for the call: say why, rather than the server's "canceling statement due to user request".
      throw this.#stopped !== undefined && sqlState(err) === QUERY_CANCELED ? this.#stopped : err;
    } finally {
      this.#running--;
    }
  }

  /** Gives the connection back (or discards it, see the file's comment) and ends the watch on the caller. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#timer);
    this.#call.signal?.removeEventListener('abort', this.#onAbort);
    // Stopped before any statement was sent, the connection is as the pool gave it.
    const reusable = !this.#failed && (this.#stopped === undefined || !this.#sent);
    const discard = reusable ? undefined : new Error('discarded: a statement failed or the call was stopped');
    this.#checkedOut?.then(({ release }) => release(discard), () => {});
  }

  /** Takes the connection (once) and starts watching the caller. */
  #connect(): Promise<pg.PoolClient> {
    if (this.#checkedOut === undefined) {
      this.#checkedOut = checkOut(this.#pool);
      this.#checkedOut.then(({ client }) => (this.#client = client), () => {});
      if (this.#call.deadlineAt !== undefined) {
        this.#timer = setTimeout(() => this.#stop(), Math.max(0, this.#call.deadlineAt - Date.now()));
      }
      this.#call.signal?.addEventListener('abort', this.#onAbort, { once: true });
    }
    return this.#checkedOut.then(
      ({ client }) => client,
      (err: unknown) => Promise.reject(storageError(err)),
    );
  }

  #stop(): void {
    if (this.#stopped !== undefined || this.#ended) return;
    this.#stopped = stopReason(this.#call) ?? expired(this.#call);
    this.#stopping.reject(this.#stopped);
    if (this.#running > 0 && this.#client !== undefined) sendCancelRequest(this.#client);
  }
}

type CheckedOut = Awaited<ReturnType<typeof checkOut>>;

/** Why `call` must not run further, or undefined while it may. */
function stopReason(call: CallOptions): GaterError | undefined {
  if (call.signal?.aborted === true) {
    const reason = 'the call was cancelled by its caller; its statement was stopped';
    return new UnavailableError(reason, { delivered: false });
  }
  if (call.deadlineAt !== undefined && Date.now() >= call.deadlineAt) return expired(call);
  return undefined;
}

function expired(call: CallOptions): GaterError {
  const at = call.deadlineAt === undefined ? '' : ` (${new Date(call.deadlineAt).toISOString()})`;
  return new GaterError('timeout', `the call's deadline${at} passed; its statement was stopped`, {});
}

/**
 * Asks the server to cancel the statement running on `client`'s session: a connection of its own carrying the
 * session's process id and secret key, which the server checks (no login, no pool slot). Fire and forget: should it
 * not arrive, the statement ends at the node's statement timeout as before.
 */
function sendCancelRequest(client: pg.PoolClient): void {
  const { host, port, processID, secretKey } = client as unknown as {
    host: string;
    port: number;
    processID: number | null;
    secretKey: number | null;
  };
  if (processID === null || secretKey === null) return;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  const socket: Socket = host.startsWith('/') ? netConnect(`${host}/.s.PGSQL.${port}`) : netConnect(port, host);
  socket.setTimeout(CANCEL_REQUEST_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => {});
  socket.on('connect', () => socket.end(packet));
}
