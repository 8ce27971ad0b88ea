import { censorValue } from '../log/redaction.ts';
import type { GaterConfig } from './gater-config.ts';
import { CONFIG_KEYS, OPTIONS } from './options.ts';

/** A JSON-safe copy of the configuration with every secret hidden, for logs and `status`. */
export type RedactedConfig = { readonly [K in keyof GaterConfig]: unknown };

/**
 * A copy of `config` with every secret option hidden as the logger hides it (`censorValue`): a secret becomes
 * `[redacted]` (each one, in a list, so the count still shows), and a URL keeps all but its password. Unset options
 * stay undefined, so it is visible that none is set.
 */
export function redactConfig(config: GaterConfig): RedactedConfig {
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) out[key] = OPTIONS[key].secret === true ? censorValue(config[key], key) : config[key];
  return out as RedactedConfig;
}
