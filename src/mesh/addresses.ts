/**
 * Multiaddrs of the mesh: what to listen on, what to announce, and which of a peer's reported addresses to dial.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors/index.ts';

const P2P = 'p2p';

/** `/ip4/<host>/tcp/<port>` (or `/ip6/`); `host` must be an IP address. */
export function listenAddr(host: string, port: number, field = 'listenHost'): string {
  const family = isIP(host);
  if (family === 0) throw new InvalidArgumentError(field, `'${host}' is not an IP address`);
  return `/ip${family}/${host}/tcp/${port}`;
}

/** The address peers dial to reach this node at `host`: an IP address or a DNS name. */
export function announceAddr(host: string, port: number, peerId: string): string {
  const family = isIP(host);
  const proto = family === 0 ? 'dns' : `ip${family}`;
  return `/${proto}/${host}/tcp/${port}/${P2P}/${peerId}`;
}

/** The TCP port of the first address that has one. */
export function tcpPort(addrs: readonly Multiaddr[]): number | undefined {
  for (const addr of addrs) {
    const port = addr.getComponents().find((c) => c.name === 'tcp')?.value;
    if (port !== undefined) return Number(port);
  }
  return undefined;
}

export interface DialableAddrs {
  /** Each ends in `/p2p/<peerId>`, so the dial fails unless the remote proves to be that peer. */
  addrs: Multiaddr[];
  /** Addresses that were dropped, with the reason, for the log. */
  rejected: { addr: string; reason: string }[];
}

/**
 * Keeps the addresses of `peerId` that parse as multiaddrs and name no other peer, each ending in `/p2p/<peerId>`.
 * Input comes from (authenticated) discovery packets: a bad address is dropped, never thrown on.
 */
export function dialableAddrs(peerId: string, addrs: readonly string[]): DialableAddrs {
  const out: Multiaddr[] = [];
  const rejected: DialableAddrs['rejected'] = [];
  for (const text of addrs) {
    let addr: Multiaddr;
    try {
      addr = multiaddr(text);
    } catch (err) {
      rejected.push({ addr: text, reason: err instanceof Error ? err.message : 'not a multiaddr' });
      continue;
    }
    const named = addr.getComponents().findLast((c) => c.name === P2P)?.value;
    if (named !== undefined && named !== peerId) {
      rejected.push({ addr: text, reason: `names another peer (${named})` });
      continue;
    }
    const full = named === undefined ? addr.encapsulate(`/${P2P}/${peerId}`) : addr;
    if (!out.some((a) => a.equals(full))) out.push(full);
  }
  return { addrs: out, rejected };
}
