export { createLogger, component, silentLogger, type LoggerInit, type ComponentName } from './logger.ts';
export { LOG_LEVELS, LOG_FORMATS, DEFAULT_LOG_LEVEL, DEFAULT_LOG_FORMAT, type LogLevel, type LogFormat } from './levels.ts';
export { REDACT_PATHS, REDACTED, censorValue, censorPath, maskUrlPassword } from './redaction.ts';
