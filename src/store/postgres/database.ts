/**
 * Connections to PostgreSQL: the pool of one store, with the type parsers the store relies on (64-bit integers as
 * numbers: positions and versions stay far below 2^53), and the mapping of driver failures to GaterErrors.
 */
import pg from 'pg';
import { GaterError, UnavailableError, toGaterError } from '../../errors/index.ts';
import {
  IDLE_IN_TRANSACTION_TIMEOUT_MS,
  CONNECTION_KEEPALIVE_COUNT,
  CONNECTION_USER_TIMEOUT_MS,
  CONNECTION_KEEPALIVE_IDLE_S,
  CONNECTION_KEEPALIVE_INTERVAL_S,
  QUERY_TIMEOUT_MARGIN_MS,
} from './constants.ts';

export interface PoolSettings {
  url: string;
  /** Connections at most. */
  max: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  idleMs: number;
  /** Names the connections in `pg_stat_activity`. */
  applicationName: string;
}

const INT8 = 20;
const INT8_ARRAY = 1016;

/** Type parsers of one store's connections, kept per store: the driver's global table is left alone. */
export function storeTypes(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8, (value: string) => Number(value));
  const parseInt8Array = pg.types.getTypeParser(INT8_ARRAY as Parameters<typeof pg.types.getTypeParser>[0]) as (value: string) => (string | null)[];
  types.setTypeParser(INT8_ARRAY, (value: string) => parseInt8Array(value).map((v) => (v === null ? null : Number(v))));
  return types;
}

/** Options of a single connection (the pool's, and the dedicated ones for notifications and leases). */
export function clientConfig(settings: PoolSettings, types: pg.CustomTypesConfig): pg.ClientConfig {
  return {
    connectionString: settings.url,
    statement_timeout: settings.statementTimeoutMs,
    // The server cancels a statement at its timeout; this covers the answer that never arrives (a network dropping
    // everything): the query fails and its connection is discarded, instead of the call hanging for good.
    query_timeout: settings.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: CONNECTION_KEEPALIVE_IDLE_S * 1000,
    application_name: settings.applicationName,
    // JIT compilation pays off for long analytic queries, never for these: with a small table not yet analysed, a
    // cost estimate can cross jit_above_cost and a 1 ms read then spends 400 ms compiling.
    // The server probes a silent connection and ends it (with any transaction it holds open, and its locks) when
    // the node behind it is gone; an idle transaction is ended too, so that the store's lock is never held for long
    // by a node that stopped mid-transaction.
    options:
      `-c jit=off -c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS} ` +
      `-c tcp_keepalives_idle=${CONNECTION_KEEPALIVE_IDLE_S} ` +
      `-c tcp_keepalives_interval=${CONNECTION_KEEPALIVE_INTERVAL_S} ` +
      `-c tcp_keepalives_count=${CONNECTION_KEEPALIVE_COUNT} -c tcp_user_timeout=${CONNECTION_USER_TIMEOUT_MS}`,
    types,
  };
}

export function createPool(settings: PoolSettings, types: pg.CustomTypesConfig): pg.Pool {
  return new pg.Pool({
    ...clientConfig(settings, types),
    max: settings.max,
    idleTimeoutMillis: settings.idleMs,
  });
}

/** SQLSTATE of a server error, when `err` is one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** 57014: a statement cancelled (its statement timeout, or a cancel request). */
export const QUERY_CANCELED = '57014';
/** 55P03: a lock not obtained within lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03';
/** SQLSTATE class 22 (data exception: a value the server cannot take) and 54000 (a key too large for its index). */
const DATA_EXCEPTION_CLASS = '22';
const PROGRAM_LIMIT_EXCEEDED = '54000';

/**
 * A connection checked out of `pool` for several statements. While checked out, the pool no longer listens for the
 * connection's errors: one that dies then (a server restart, a reset) would emit an error nobody handles, which ends
 * the process. The failing statement reports it; the listener only keeps the process alive. `release(err)` gives the
 * connection back, or discards it after a failure.
 */
export async function checkOut(pool: pg.Pool): Promise<{ client: pg.PoolClient; release: (err?: Error) => void }> {
  const client = await pool.connect();
  const ignore = (): void => {};
  client.on('error', ignore);
  return {
    client,
    release(err) {
      client.off('error', ignore);
      client.release(err);
    },
  };
}

/**
 * A failure as a GaterError. GaterErrors stay as they are; a statement cancelled by its timeout is `timeout`; a value
 * the server refuses (class 22, 54000) is `invalid_argument`; every other failure of the server or of the connection
 * to it (refused, reset, terminated, shut down, out of resources) is `unavailable`: the call may succeed later or
 * through another node. Anything else is `internal`.
 */
export function storageError(err: unknown): GaterError {
  if (err instanceof GaterError) return err;
  const state = sqlState(err);
  const message = err instanceof Error ? err.message : String(err);
  if (state === QUERY_CANCELED) {
    return new GaterError('timeout', `the database cancelled the statement: ${message}`, {}, { cause: err });
  }
  if (state === LOCK_NOT_AVAILABLE) {
    // Only appends set a lock timeout, at their callers' latest deadline: nothing was written.
    const reason = `the store's lock was not free before the deadline: ${message}`;
    return new GaterError('timeout', reason, {}, { cause: err });
  }
  // Input the server refuses whatever node sends it: asking again cannot help (the validators refuse what they can
  // foresee; this is what they cannot, such as a key longer in bytes than its index can hold).
  if (state !== undefined && (state.startsWith(DATA_EXCEPTION_CLASS) || state === PROGRAM_LIMIT_EXCEEDED)) {
    return new GaterError('invalid_argument', `the database refused a value: ${message}`, { sqlState: state }, {
      cause: err,
    });
  }
  if (state !== undefined || isConnectionFailure(err)) {
    return new UnavailableError(`database failure: ${message}`, state === undefined ? {} : { sqlState: state }, {
      cause: err,
    });
  }
  return toGaterError(err);
}

/**
 * Whether a write that failed with `err` after its statement was handed to a connection may still have committed:
 * the connection failed with no answer (reset, terminated, timed out), or the server ended the session (class 57P,
 * shutdown or terminated; class 08) while its commit may already have been written, as when a COMMIT waits for a
 * synchronous standby. Any other server error ended the statement and its transaction; a connection already closed
 * when the statement was given to it sent nothing.
 */
export function mayHaveCommitted(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('57P') || state.startsWith('08');
  if (storageError(err).code !== 'unavailable') return false;
  const message = err instanceof Error ? err.message : '';
  return !/not queryable|Client was closed/i.test(message);
}

/** Failures of the connection itself, as node and the driver report them. */
function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('E')) return true; // ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT...
  return /connection|terminated|timeout exceeded|read timeout|not queryable|Client was closed|Cannot use a pool/i.test(
    err.message,
  );
}
