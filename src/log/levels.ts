/** The log levels gater accepts, most severe first; `silent` turns logging off. These are pino's own names. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `auto` is pretty output on a TTY and JSON lines otherwise; `json` and `pretty` force one of them. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** @default 'info' */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
/** @default 'auto' */
export const DEFAULT_LOG_FORMAT: LogFormat = 'auto';
