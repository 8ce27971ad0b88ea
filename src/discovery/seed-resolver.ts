/**
 * Seeds given as host names, resolved to every address they have and resolved again every beacon round. A headless
 * Kubernetes Service (or any DNS name with many A records) is one seed that stands for all the pods behind it, and
 * the pods change: re-resolving each round finds new ones within an interval, and stops beaconing those gone. Seeds
 * given as IPv4 addresses are used as they are.
 *
 * Resolution runs in the background and never holds a beacon back: a round beacons the addresses known so far, and
 * addresses seen for the first time are handed to `onNew` at once (so a starting node reaches its seeds without
 * waiting an interval). A failed resolution keeps the addresses of the last one that succeeded.
 */
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import pino, { type Logger } from 'pino';
import { DROP_LOG_WINDOW_MS } from './constants.ts';
import { formatEndpoint, type Endpoint } from './endpoint.ts';
import { RateLimiter } from './rate-limiter.ts';

/** Resolves a host name to its IPv4 addresses (every one of them). */
export type ResolveHost = (host: string) => Promise<readonly string[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS with the search domains of resolv.conf). */
export const systemResolveHost: ResolveHost = async (host) =>
  (await lookup(host, { all: true, family: 4 })).map((a) => a.address);

export interface SeedResolverComponents {
  /** @default systemResolveHost */
  resolveHost?: ResolveHost;
  /** @default a silent logger */
  logger?: Logger;
  /** Monotonic milliseconds, for rate-limited warnings. @default performance.now */
  now?: () => number;
}

export interface SeedResolverInit {
  seeds: readonly Endpoint[];
  /** Called with addresses (as endpoints) that a resolution found for the first time. */
  onNew?: (endpoints: readonly Endpoint[]) => void;
}

export class SeedResolver {
  private readonly resolveHost: ResolveHost;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly fixed: readonly Endpoint[];
  private readonly named: readonly Endpoint[];
  private readonly onNew: ((endpoints: readonly Endpoint[]) => void) | undefined;
  /** Addresses of each named seed (`host:port`), as last resolved. */
  private readonly resolved = new Map<string, readonly Endpoint[]>();
  private readonly inFlight = new Set<string>();
  private readonly warnings = new RateLimiter(DROP_LOG_WINDOW_MS);
  private stopped = false;

  constructor(components: SeedResolverComponents, init: SeedResolverInit) {
    this.resolveHost = components.resolveHost ?? systemResolveHost;
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.now = components.now ?? (() => performance.now());
    this.fixed = init.seeds.filter((s) => isIPv4(s.host));
    this.named = init.seeds.filter((s) => !isIPv4(s.host));
    this.onNew = init.onNew;
  }

  /** Whether any seed needs resolving. */
  get hasNames(): boolean {
    return this.named.length > 0;
  }

  /** Every seed endpoint known now: the IPv4 seeds, and the addresses of the named ones as last resolved. */
  endpoints(): Endpoint[] {
    const all = new Map<string, Endpoint>();
    for (const seed of this.fixed) all.set(formatEndpoint(seed.host, seed.port), seed);
    for (const endpoints of this.resolved.values()) for (const e of endpoints) all.set(formatEndpoint(e.host, e.port), e);
    return [...all.values()];
  }

  /** Resolves every named seed again (those still resolving from the last round are left to finish). */
  refresh(): void {
    for (const seed of this.named) void this.resolve(seed);
  }

  /** Resolves again after a `stop()` (discovery stopped and started again). */
  start(): void {
    this.stopped = false;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Resolves one named seed; never rejects. Resolves once the seed's addresses are updated. */
  async resolve(seed: Endpoint): Promise<void> {
    const key = formatEndpoint(seed.host, seed.port);
    if (this.inFlight.has(key) || this.stopped) return;
    this.inFlight.add(key);
    try {
      const addresses = [...new Set(await this.resolveHost(seed.host))].filter((a) => isIPv4(a)).sort();
      if (this.stopped) return;
      const before = new Set((this.resolved.get(key) ?? []).map((e) => e.host));
      const endpoints = addresses.map((host) => ({ host, port: seed.port }));
      this.resolved.set(key, endpoints);
      const fresh = endpoints.filter((e) => !before.has(e.host));
      if (fresh.length > 0 || before.size !== endpoints.length) {
        this.logger.debug({ seed: key, addresses }, 'seed resolved');
      }
      if (fresh.length > 0) this.onNew?.(fresh);
    } catch (err) {
      if (this.warnings.allow(key, this.now())) {
        this.logger.warn({ err, seed: key, keeping: (this.resolved.get(key) ?? []).length }, 'could not resolve a seed; keeping its last addresses');
      }
    } finally {
      this.inFlight.delete(key);
    }
  }
}
