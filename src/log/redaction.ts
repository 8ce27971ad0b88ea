/**
 * What the logger never prints. Paths are matched at the top level of a log object and one level down (`config.x`,
 * `err.x`); pino cannot match at any depth without a wildcard per level, and every wildcard costs on every log call.
 */
const SECRET_KEYS = ['clusterSecret', 'clusterSecretPrevious', 'secret', 'password', 'pgUrl'] as const;

export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => [key, `*.${key}`]);

export const REDACTED = '[redacted]';

/** Keys holding a URL whose password is the only secret part. */
const URL_KEYS: ReadonlySet<string> = new Set(['pgUrl']);

/**
 * The replacement for the redacted value under `key`: a connection URL keeps everything but its password (so `pgUrl`
 * still shows which server), a list each of its items (so it still shows how many there are), anything else becomes
 * `[redacted]`. A value that is not set stays as it is: `[redacted]` there would say a secret is set when none is.
 */
export function censorValue(value: unknown, key: string | undefined): unknown {
  if (value === undefined || value === null) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => censorValue(item, key));
  if (key !== undefined && URL_KEYS.has(key) && typeof value === 'string') return maskUrlPassword(value) ?? REDACTED;
  return REDACTED;
}

/** As pino's `redact.censor`: the path's last element is the key. */
export function censorPath(value: unknown, path: readonly unknown[]): unknown {
  const last = path[path.length - 1];
  return censorValue(value, typeof last === 'string' ? last : undefined);
}

/** `postgres://user:pw@host/db` → `postgres://user:[redacted]@host/db`; undefined when `url` does not parse. */
export function maskUrlPassword(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.password === '') return url;
  parsed.password = 'redacted';
  // URL escapes brackets in the userinfo, so the marker goes in after serialising.
  return parsed.href.replace(':redacted@', `:${REDACTED}@`);
}
