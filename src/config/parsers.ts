/**
 * Value parsers of configuration options. One parser takes a value from any layer: a JSON value from the file, or
 * the text of an environment variable or flag. A parser throws `ValueError` with a message that never repeats the
 * value (the caller adds it, except for secrets).
 */
import { isIP, isIPv4 } from 'node:net';
import type { SeedAddress } from './gater-config.ts';

export class ValueError extends Error {
  override readonly name = 'ValueError';
}

export interface Parser<T> {
  /** What a valid value looks like, for messages and documentation. */
  readonly expected: string;
  /** A list takes an empty environment value as the empty list; for any other parser it means "not set". */
  readonly list: boolean;
  /** A switch: as a flag it needs no value (`--broadcast-only`, `--no-broadcast-only`). */
  readonly switch?: boolean;
  parse(value: unknown): T;
}

function fail(expected: string): never {
  throw new ValueError(`must be ${expected}`);
}

export function text(expected: string, pattern?: RegExp): Parser<string> {
  return {
    expected,
    list: false,
    parse(value) {
      if (typeof value !== 'string' || value === '') fail(expected);
      if (pattern !== undefined && !pattern.test(value)) fail(expected);
      return value;
    },
  };
}

export function integer(min: number, max: number): Parser<number> {
  const expected = `an integer from ${min} to ${max}`;
  return {
    expected,
    list: false,
    parse(value) {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) fail(expected);
      return n;
    },
  };
}

/** One of a fixed set of words, matched without regard to case and returned as spelled in `values`. */
export function oneOf<const V extends string>(values: readonly V[]): Parser<V> {
  const expected = `one of ${values.join(', ')}`;
  return {
    expected,
    list: false,
    parse(value) {
      const found = typeof value === 'string' ? values.find((v) => v.toLowerCase() === value.trim().toLowerCase()) : undefined;
      if (found === undefined) fail(expected);
      return found;
    },
  };
}

const TRUE_WORDS = new Set(['true', '1', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'no']);

export function boolean(): Parser<boolean> {
  const expected = 'true or false (also 1/0, yes/no)';
  return {
    expected,
    list: false,
    switch: true,
    parse(value) {
      if (typeof value === 'boolean') return value;
      const word = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
      if (word !== undefined && TRUE_WORDS.has(word)) return true;
      if (word !== undefined && FALSE_WORDS.has(word)) return false;
      return fail(expected);
    },
  };
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A string parser that accepts what `accepts` says, and names `expected` otherwise. */
function textWhere(expected: string, accepts: (value: string) => boolean): Parser<string> {
  return {
    expected,
    list: false,
    parse(value) {
      if (typeof value !== 'string' || !accepts(value)) fail(expected);
      return value;
    },
  };
}

/** An IP address or a host name. */
export function host(): Parser<string> {
  return textWhere('an IP address or a host name', (v) => isIP(v) !== 0 || HOSTNAME.test(v));
}

/** An IPv4 address or a host name: what gossip, IPv4 only, can send to. */
export function ipv4OrHost(): Parser<string> {
  return textWhere('an IPv4 address or a host name', (v) => isIPv4(v) || HOSTNAME.test(v));
}

/** An IPv4 or IPv6 address, for what a socket binds: it takes no host name. */
export function ip(expected = 'an IP address'): Parser<string> {
  return textWhere(expected, (v) => isIP(v) !== 0);
}

export function ipv4(expected = 'an IPv4 address'): Parser<string> {
  return textWhere(expected, isIPv4);
}

export function url(protocols: readonly string[]): Parser<string> {
  const expected = `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  return {
    expected,
    list: false,
    parse(value) {
      if (typeof value !== 'string') fail(expected);
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        // `new URL` gives no reason; a port out of range is the one a user can be told without quoting the URL.
        if (portOutOfRange(value)) throw new ValueError(`must have a port from 1 to ${MAX_PORT}`);
        return fail(expected);
      }
      if (!protocols.includes(parsed.protocol) || parsed.hostname === '') fail(expected);
      if (parsed.port === '0') throw new ValueError(`must have a port from 1 to ${MAX_PORT}`);
      return value;
    },
  };
}

const MAX_PORT = 65_535;

/** Whether the authority of `value` (`scheme://user:password@host:port/...`) ends in a port above 65535. */
function portOutOfRange(value: string): boolean {
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(value)?.[1];
  const hostAndPort = authority?.slice(authority.lastIndexOf('@') + 1);
  const port = hostAndPort === undefined ? undefined : /:(\d+)$/.exec(hostAndPort)?.[1];
  return port !== undefined && Number(port) > MAX_PORT;
}

/** A secret: text of at least `minBytes` bytes in UTF-8. */
export function secret(minBytes: number): Parser<string> {
  const expected = `at least ${minBytes} bytes`;
  return {
    expected,
    list: false,
    parse(value) {
      if (typeof value !== 'string') fail('text');
      const bytes = Buffer.byteLength(value, 'utf8');
      if (bytes < minBytes) throw new ValueError(`must be ${expected} (this one has ${bytes})`);
      return value;
    },
  };
}

/**
 * `host:port`, the host an IPv4 address or a host name (resolved to its IPv4 addresses). Gossip is IPv4 only (udp4):
 * an IPv6 address is refused here, with the rest of the configuration, rather than when discovery starts.
 */
export function seed(): Parser<SeedAddress> {
  const expected = 'host:port';
  const hostParser = ipv4OrHost();
  const portParser = integer(1, 65_535);
  return {
    expected,
    list: false,
    parse(value) {
      if (typeof value !== 'string') fail(expected);
      const match = /^([^:]+):([^:]*)$/.exec(value);
      if (match === null) {
        if (value.startsWith('[') || value.split(':').length > 2) {
          throw new ValueError(`must be ${expected} with an IPv4 address or a host name (gossip is IPv4 only)`);
        }
        fail(expected);
      }
      return { host: part('host', hostParser, match[1]), port: part('port', portParser, match[2]) };
    },
  };
}

/** One part of a `host:port`, its message naming the part: `must be host:port (the port must be …)`. */
function part<T>(name: string, parser: Parser<T>, value: string | undefined): T {
  try {
    return parser.parse(value);
  } catch (err) {
    throw new ValueError(`must be host:port (the ${name} ${(err as Error).message})`);
  }
}

/**
 * A list of exactly one item, from text naming one (the seed's `EX_ESDB_STORE_ID` names one store, where
 * `GATER_STORES` lists several). Not a list parser: an empty value means "not set", as for every single value.
 */
export function exactlyOne<T>(item: Parser<T>, expected: string): Parser<readonly T[]> {
  return {
    expected,
    list: false,
    parse(value) {
      if (typeof value !== 'string' || value.includes(',')) fail(expected);
      try {
        return [item.parse(value)];
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        return fail(expected);
      }
    },
  };
}

/**
 * A list: a JSON array, or comma-separated text (blanks around items are ignored). Items are parsed by `item`;
 * a repeated item is refused, because every list here is a set.
 */
export function list<T>(item: Parser<T>, expected: string): Parser<readonly T[]> {
  return {
    expected,
    list: true,
    parse(value) {
      let raw: unknown[];
      if (Array.isArray(value)) raw = value;
      else if (typeof value === 'string') raw = value.trim() === '' ? [] : value.split(',').map((s) => s.trim());
      else return fail(expected);
      const out: T[] = [];
      const seen = new Set<string>();
      for (const [i, v] of raw.entries()) {
        let parsed: T;
        try {
          parsed = item.parse(v);
        } catch (err) {
          throw new ValueError(`item ${i + 1} ${(err as Error).message}`);
        }
        const key = JSON.stringify(parsed);
        if (seen.has(key)) throw new ValueError(`item ${i + 1} repeats an earlier one`);
        seen.add(key);
        out.push(parsed);
      }
      return out;
    },
  };
}
