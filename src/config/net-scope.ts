/** Address scope tests for the rules of the configuration (is this node reachable beyond its own host?). */
import { isIPv4 } from 'node:net';

/** `localhost`, 127.0.0.0/8 or ::1. A host name other than `localhost` may resolve anywhere, so it is not loopback. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

/** 224.0.0.0/4, the IPv4 multicast range. */
export function isMulticastV4(address: string): boolean {
  if (!isIPv4(address)) return false;
  const first = Number(address.slice(0, address.indexOf('.')));
  return first >= 224 && first <= 239;
}
