/**
 * Counts dropped datagrams by reason and logs them without letting a flood of bad packets flood the log: per reason,
 * the first drop is logged at debug, then at most one line per window with the count since the previous line. No
 * timer: a summary is written when the next drop of its reason arrives after the window.
 */
import type { Logger } from 'pino';
import { DROP_REASONS, type DropReason } from './types.ts';

interface ReasonLog {
  /** When the last line for this reason was written (monotonic ms); undefined before the first. */
  loggedAt: number | undefined;
  suppressed: number;
}

export class DropLog {
  private readonly logger: Logger;
  private readonly windowMs: number;
  private readonly counts: Record<DropReason, number>;
  private readonly logs = new Map<DropReason, ReasonLog>();

  constructor(logger: Logger, windowMs: number) {
    this.logger = logger;
    this.windowMs = windowMs;
    this.counts = Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<DropReason, number>;
  }

  record(reason: DropReason, detail: string, from: string, now: number): void {
    this.counts[reason] += 1;
    let log = this.logs.get(reason);
    if (log === undefined) {
      log = { loggedAt: undefined, suppressed: 0 };
      this.logs.set(reason, log);
    }
    if (log.loggedAt !== undefined && now - log.loggedAt < this.windowMs) {
      log.suppressed += 1;
      return;
    }
    // The level check first: at info and above, no object is built per packet.
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug(
        { reason, detail, from, droppedSinceLastLine: log.suppressed + 1, droppedTotal: this.counts[reason] },
        'gossip packet dropped',
      );
    }
    log.loggedAt = now;
    log.suppressed = 0;
  }

  /** A copy of the counts by reason. */
  counters(): Record<DropReason, number> {
    return { ...this.counts };
  }

  total(): number {
    return DROP_REASONS.reduce((sum, reason) => sum + this.counts[reason], 0);
  }
}
