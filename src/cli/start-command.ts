/** `gater start`: load the configuration, build the logger, run the node until a stop signal, stop it cleanly. */
import type { Logger } from 'pino';
import { ConfigError, loadConfigReport, redactConfig, type ConfigReport, type GaterConfig } from '../config/index.ts';
import { component, createLogger } from '../log/index.ts';
import type { CliIo } from './cli-io.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.ts';
import { startUsage } from './usage.ts';

/** A running node as `gater start` sees it (the composition root in src/node/ provides it). */
export interface StartedNode {
  readonly httpUrl: string;
  stop(): Promise<void>;
}

export type StartNode = (config: GaterConfig, logger: Logger) => Promise<StartedNode>;

/** How long a clean stop may take before `gater start` gives up on it and exits with a failure. */
export const STOP_TIMEOUT_MS = 30_000;

export interface StartDeps {
  /** @default the composition root's `startNode` (src/node/gater-node.ts), loaded once the configuration is valid */
  startNode?: StartNode;
}

export async function runStart(argv: readonly string[], io: CliIo, deps: StartDeps = {}): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(startUsage());
    return EXIT_OK;
  }
  let report: ConfigReport;
  try {
    report = loadConfigReport({ argv, env: io.env, cwd: io.cwd });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`gater: ${err.message}\n`);
    return EXIT_USAGE;
  }
  const { config } = report;
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    nodeName: config.nodeName,
    ...(io.logDestination === undefined ? {} : { destination: io.logDestination }),
  });
  const log = component(logger, 'cli');
  for (const warning of report.warnings) log.warn(warning);
  log.debug({ config: redactConfig(config), configFile: report.file }, 'configuration');

  // Listen before starting, so that a signal during start-up still ends in a clean stop rather than a kill.
  let signals = 0;
  let onSignal!: (signal: string) => void;
  const stopRequested = new Promise<string>((resolve) => (onSignal = resolve));
  const unlisten = io.onStop((signal) => {
    signals += 1;
    if (signals === 1) return onSignal(signal);
    log.warn({ signal }, 'second stop signal: exiting without waiting for a clean stop');
    io.exit(EXIT_FAILURE);
  });
  try {
    const startNode = deps.startNode ?? (await import('../node/gater-node.ts')).startNode;
    let node: StartedNode;
    try {
      node = await startNode(config, logger);
    } catch (err) {
      log.fatal({ err }, 'the node failed to start');
      return EXIT_FAILURE;
    }
    log.debug({ httpUrl: node.httpUrl }, 'running until SIGINT or SIGTERM');
    const signal = await stopRequested;
    log.info({ signal }, 'stopping');
    try {
      await withTimeout(node.stop(), STOP_TIMEOUT_MS);
    } catch (err) {
      log.error({ err }, 'the node did not stop cleanly');
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  } finally {
    unlisten();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stop did not finish within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
