export type { GaterConfig, ConfigKey, SeedAddress } from './gater-config.ts';
export {
  loadConfig,
  loadConfigReport,
  type LoadConfigInput,
  type ConfigReport,
  type ConfigSource,
  type ConfigLayer,
} from './load-config.ts';
export { ConfigError, formatIssue, type ConfigIssue } from './config-error.ts';
export { redactConfig, type RedactedConfig } from './redact-config.ts';
export { OPTIONS, CONFIG_KEYS, CONFIG_FILE_ENV, CONFIG_FILE_FLAG, type OptionSpec, type OptionTable } from './options.ts';
export { scanFlags, type FlagSpec, type FlagScan, type FlagValue, type FlagProblem } from './flags.ts';
export { closest, didYouMean } from './suggest.ts';
export { integer, ValueError, type Parser } from './parsers.ts';
export * from './defaults.ts';
