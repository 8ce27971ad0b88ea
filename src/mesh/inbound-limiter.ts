/**
 * Caps the inbound connections one remote IP address may have upgrading at once.
 *
 * libp2p bounds the upgrades in progress only node-wide (`maxIncomingPendingConnections`) and refuses every inbound
 * connection once they are all taken, members' too: one host opening connections and sending nothing locked a node's
 * members out. Per address, that host fills its own share and no more. The cap sits in the connection gater:
 * `denyInboundConnection` runs as libp2p starts an upgrade (after its node-wide and per-second checks), and the
 * upgrade ends either in `denyInboundUpgradedConnection` (it succeeded) or with the connection closed (it failed: the
 * transport aborts the connection, or the remote hung up), whichever comes first.
 *
 * Keyed by the whole address, IPv6 included: an attacker holding many addresses is bounded by the node-wide cap and
 * the key-selection deadline only.
 */
import type { MultiaddrConnection } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { MAX_INCOMING_PENDING_CONNECTIONS_PER_HOST } from './constants.ts';

export interface InboundLimiterInit {
  /** Upgrades one IP address may have in progress at once. @default 32 */
  maxPerHost?: number;
  /** Told of every connection refused at the cap (for logs). */
  onRefused?: (host: string, remoteAddr: Multiaddr) => void;
}

interface Tracked {
  host: string;
  onClose: () => void;
}

export class InboundLimiter {
  private readonly maxPerHost: number;
  private readonly onRefused: InboundLimiterInit['onRefused'];
  private readonly pending = new Map<string, number>();
  private readonly tracked = new Map<MultiaddrConnection, Tracked>();

  constructor(init: InboundLimiterInit = {}) {
    this.maxPerHost = init.maxPerHost ?? MAX_INCOMING_PENDING_CONNECTIONS_PER_HOST;
    this.onRefused = init.onRefused;
  }

  /**
   * An inbound connection starts its upgrade: counts it against its address and answers true, or answers false when
   * that address is at the cap (the caller refuses the connection, which then never counts).
   */
  admit(maConn: MultiaddrConnection): boolean {
    const host = remoteHost(maConn.remoteAddr);
    // Not an IP connection, or already closed (its close event is past, so nothing would release it): not counted.
    const closed = maConn.status !== 'open' && maConn.status !== 'closing';
    if (host === undefined || closed || this.tracked.has(maConn)) return true;
    const count = this.pending.get(host) ?? 0;
    if (count >= this.maxPerHost) {
      this.onRefused?.(host, maConn.remoteAddr);
      return false;
    }
    this.pending.set(host, count + 1);
    const onClose = (): void => this.release(maConn);
    this.tracked.set(maConn, { host, onClose });
    maConn.addEventListener('close', onClose, { once: true });
    return true;
  }

  /** The upgrade of `maConn` ended (it succeeded, or the connection closed). Idempotent; ignores any not admitted. */
  release(maConn: MultiaddrConnection): void {
    const entry = this.tracked.get(maConn);
    if (entry === undefined) return;
    this.tracked.delete(maConn);
    maConn.removeEventListener('close', entry.onClose);
    const count = (this.pending.get(entry.host) ?? 1) - 1;
    if (count > 0) this.pending.set(entry.host, count);
    else this.pending.delete(entry.host);
  }

  /** Upgrades in progress from `host` (as `remoteHost` spells it). */
  pendingFrom(host: string): number {
    return this.pending.get(host) ?? 0;
  }

  /** Upgrades in progress from all hosts. */
  get size(): number {
    return this.tracked.size;
  }
}

const IPV4_MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * The IP address of a remote multiaddr, one spelling per host: an IPv4-mapped IPv6 address (a dual-stack listener's
 * view of an IPv4 peer) as the IPv4 address, so one host cannot count twice. Undefined when it has no IP.
 */
export function remoteHost(addr: Multiaddr): string | undefined {
  const ip = addr.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6');
  if (ip?.value === undefined) return undefined;
  if (ip.name === 'ip4') return ip.value;
  // multiaddr prints IPv6 canonically (lower case, mapped IPv4 in hex): ::ffff:7f00:2 is 127.0.0.2.
  const mapped = IPV4_MAPPED.exec(ip.value);
  if (mapped === null) return ip.value;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}
