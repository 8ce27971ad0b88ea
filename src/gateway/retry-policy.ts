/** Backoff between attempts of one call, before jitter. */
export const RETRY_BASE_DELAY_MS = 25;
/** Upper bound of one backoff delay. */
export const RETRY_MAX_DELAY_MS = 1_000;

/**
 * Delay before attempt `attempt` (1 = the first retry): exponential from `baseMs`, capped at `maxMs`, with "full
 * jitter" (a uniform draw below the cap) so that callers failing together do not retry together.
 */
export function retryDelayMs(attempt: number, random: () => number, baseMs = RETRY_BASE_DELAY_MS, maxMs = RETRY_MAX_DELAY_MS): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}
