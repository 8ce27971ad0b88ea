/**
 * Keeps the mesh connected to the peers discovery reports: dials each wanted peer, redials it with exponential backoff
 * and jitter while it stays wanted, and stops the moment it is forgotten.
 *
 * Only one side of a pair dials: the one whose peer id sorts first. The other waits for it. Two nodes that learn of
 * each other at the same moment would otherwise dial each other at once and end up with two connections.
 */
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Logger } from 'pino';
import { silentLogger } from '../log/index.ts';
import {
  DIAL_TIMEOUT_MS,
  REDIAL_INITIAL_DELAY_MS,
  REDIAL_MAX_DELAY_MS,
  REDIAL_WARN_EVERY_FAILURES,
  STABLE_CONNECTION_MS,
} from './constants.ts';

/** Whether `local` dials `remote` (rather than waiting for `remote` to dial it): the smaller id dials. */
export function dialsFirst(local: string, remote: string): boolean {
  return local < remote;
}

/**
 * The wait before the next dial after `failures` consecutive failures (at least 1): `initialMs` doubled per further
 * failure up to `maxMs`, then "equal jitter" — a uniform draw in [half, all] of that — so peers that failed together
 * do not retry in lockstep, yet never sooner than half the backoff.
 */
export function redialDelayMs(
  failures: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const base = Math.min(maxMs, initialMs * 2 ** exponent);
  return Math.round(base / 2 + (random() * base) / 2);
}

export interface PeerDialerComponents {
  logger?: Logger;
}

export interface PeerDialerInit {
  /** This node's peer id, to decide which side of each pair dials. */
  localPeerId: string;
  /** One dial attempt; resolves once connected, rejects otherwise. */
  dial: (peerId: string, addrs: readonly Multiaddr[], signal: AbortSignal) => Promise<void>;
  /** Whether at least one connection to the peer is open. */
  isConnected: (peerId: string) => boolean;
  /** First redial delay, before jitter. @default 100 */
  redialInitialDelayMs?: number;
  /** Ceiling of the redial delay. @default 5000 */
  redialMaxDelayMs?: number;
  /** Deadline of one dial attempt. @default 5000 */
  dialTimeoutMs?: number;
  /** A connection that lived this long resets the backoff when it drops. @default 10000 */
  stableConnectionMs?: number;
  /** Uniform [0, 1) source for jitter. @default Math.random */
  random?: () => number;
  /** Clock in ms. @default Date.now */
  now?: () => number;
}

interface WantedPeer {
  addrs: readonly Multiaddr[];
  /** Consecutive failed dials and short-lived connections; 0 before the first dial. */
  failures: number;
  timer: NodeJS.Timeout | undefined;
  dialing: AbortController | undefined;
  connectedAt: number | undefined;
}

export class PeerDialer {
  private readonly logger: Logger;
  private readonly localPeerId: string;
  private readonly dialPeer: PeerDialerInit['dial'];
  private readonly isConnected: PeerDialerInit['isConnected'];
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly dialTimeoutMs: number;
  private readonly stableConnectionMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly wanted = new Map<string, WantedPeer>();
  private running = false;

  constructor(components: PeerDialerComponents, init: PeerDialerInit) {
    this.logger = components.logger ?? silentLogger();
    this.localPeerId = init.localPeerId;
    this.dialPeer = init.dial;
    this.isConnected = init.isConnected;
    this.initialDelayMs = init.redialInitialDelayMs ?? REDIAL_INITIAL_DELAY_MS;
    this.maxDelayMs = init.redialMaxDelayMs ?? REDIAL_MAX_DELAY_MS;
    this.dialTimeoutMs = init.dialTimeoutMs ?? DIAL_TIMEOUT_MS;
    this.stableConnectionMs = init.stableConnectionMs ?? STABLE_CONNECTION_MS;
    this.random = init.random ?? Math.random;
    this.now = init.now ?? Date.now;
  }

  /** Starts dialing every wanted peer this side dials. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const [peerId, peer] of this.wanted) this.schedule(peerId, peer, 0);
  }

  /** Cancels every pending redial and dial in flight; the wanted set is kept for the next start. */
  stop(): void {
    this.running = false;
    for (const peer of this.wanted.values()) this.cancel(peer);
  }

  /**
   * Wants a connection to `peerId` at `addrs`, dialed at once by the side that dials. Wanting a peer again that is
   * not connected dials it at once too (discovery has just heard from it); new addresses (it restarted on another
   * port) also start the backoff over.
   */
  want(peerId: string, addrs: readonly Multiaddr[]): void {
    const peer = this.wanted.get(peerId);
    if (peer === undefined) {
      const added: WantedPeer = { addrs, failures: 0, timer: undefined, dialing: undefined, connectedAt: undefined };
      this.wanted.set(peerId, added);
      this.schedule(peerId, added, 0);
      return;
    }
    if (!sameAddrs(peer.addrs, addrs)) {
      peer.addrs = addrs;
      peer.failures = 0;
    }
    if (peer.dialing !== undefined || this.isConnected(peerId)) return;
    // Being told again means discovery just heard from the peer: worth a dial now rather than at the end of the
    // backoff. The failure count stands, so the backoff after this dial is no shorter.
    this.schedule(peerId, peer, 0);
  }

  /** Stops wanting `peerId`: cancels its redial and any dial in flight. Returns whether it was wanted. */
  forget(peerId: string): boolean {
    const peer = this.wanted.get(peerId);
    if (peer === undefined) return false;
    this.cancel(peer);
    this.wanted.delete(peerId);
    return true;
  }

  isWanted(peerId: string): boolean {
    return this.wanted.has(peerId);
  }

  /** Whether a redial of `peerId` is scheduled or a dial is in flight. */
  isPending(peerId: string): boolean {
    const peer = this.wanted.get(peerId);
    return peer !== undefined && (peer.timer !== undefined || peer.dialing !== undefined);
  }

  /** The first connection to `peerId` opened (whoever dialed). */
  onConnected(peerId: string): void {
    const peer = this.wanted.get(peerId);
    if (peer === undefined) return;
    peer.connectedAt = this.now();
    clearTimeout(peer.timer);
    peer.timer = undefined;
  }

  /** The last connection to `peerId` closed: the dialing side redials while the peer is wanted. */
  onDisconnected(peerId: string): void {
    const peer = this.wanted.get(peerId);
    if (peer === undefined) return;
    const lived = peer.connectedAt === undefined ? 0 : this.now() - peer.connectedAt;
    peer.connectedAt = undefined;
    peer.failures = lived >= this.stableConnectionMs ? 1 : peer.failures + 1;
    this.schedule(peerId, peer, this.delay(peer.failures));
  }

  private delay(failures: number): number {
    return redialDelayMs(failures, this.initialDelayMs, this.maxDelayMs, this.random);
  }

  private schedule(peerId: string, peer: WantedPeer, delayMs: number): void {
    if (!this.running || !dialsFirst(this.localPeerId, peerId)) return;
    clearTimeout(peer.timer);
    peer.timer = setTimeout(() => {
      peer.timer = undefined;
      void this.attempt(peerId, peer);
    }, delayMs);
    peer.timer.unref();
  }

  private async attempt(peerId: string, peer: WantedPeer): Promise<void> {
    if (!this.running || this.wanted.get(peerId) !== peer || peer.dialing !== undefined) return;
    if (this.isConnected(peerId)) return;
    if (peer.addrs.length === 0) {
      this.logger.warn({ peerId }, 'no dialable address for a wanted peer');
      return;
    }
    const controller = new AbortController();
    peer.dialing = controller;
    let error: unknown;
    try {
      const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(this.dialTimeoutMs)]);
      await this.dialPeer(peerId, peer.addrs, signal);
      // A connection that closed again before the dial returned leaves no 'disconnected' to redial on.
      if (!this.isConnected(peerId)) error = new Error('the connection closed as soon as it opened');
    } catch (err) {
      error = err;
    } finally {
      if (peer.dialing === controller) peer.dialing = undefined;
    }
    if (error === undefined || controller.signal.aborted || this.wanted.get(peerId) !== peer) return;
    peer.failures += 1;
    const delayMs = this.delay(peer.failures);
    const fields = { peerId, failures: peer.failures, retryInMs: delayMs, err: error };
    if (peer.failures % REDIAL_WARN_EVERY_FAILURES === 0) this.logger.warn(fields, 'still cannot dial a wanted peer');
    else this.logger.debug(fields, 'dial failed');
    this.schedule(peerId, peer, delayMs);
  }

  private cancel(peer: WantedPeer): void {
    clearTimeout(peer.timer);
    peer.timer = undefined;
    peer.dialing?.abort();
    peer.dialing = undefined;
  }
}

function sameAddrs(a: readonly Multiaddr[], b: readonly Multiaddr[]): boolean {
  return a.length === b.length && a.every((addr, i) => addr.equals(b[i]!));
}
