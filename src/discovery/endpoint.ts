/**
 * UDP endpoints (`host:port`) and the IPv4 address classes gossip cares about. Pure functions.
 */
import { isIPv4 } from 'node:net';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** Parses `host:port` (an IPv4 address or a host name, and a port 1–65535); undefined when it is not one. */
export function parseEndpoint(text: string): Endpoint | undefined {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return undefined;
  if (!isIPv4(host) && !HOSTNAME.test(host)) return undefined;
  return { host, port };
}

export function formatEndpoint(host: string, port: number): string {
  return `${host}:${port}`;
}

function octets(address: string): number[] {
  return address.split('.').map(Number);
}

export function isLoopbackIPv4(address: string): boolean {
  return isIPv4(address) && octets(address)[0] === 127;
}

/** 224.0.0.0/4. */
export function isMulticastIPv4(address: string): boolean {
  if (!isIPv4(address)) return false;
  const first = octets(address)[0] ?? 0;
  return first >= 224 && first <= 239;
}

/** Whether packets sent to `host` stay on this machine. Host names other than `localhost` are not resolved here. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackIPv4(host);
}

/** The 6-byte wire form of an IPv4 endpoint: four address bytes, then the port, big-endian. */
export function writeEndpoint(target: Buffer, offset: number, address: string, port: number): number {
  const parts = octets(address);
  for (let i = 0; i < 4; i += 1) target[offset + i] = parts[i] ?? 0;
  target.writeUInt16BE(port, offset + 4);
  return offset + 6;
}

export function readEndpoint(source: Buffer, offset: number): string {
  const address = `${source[offset]}.${source[offset + 1]}.${source[offset + 2]}.${source[offset + 3]}`;
  return `${address}:${source.readUInt16BE(offset + 4)}`;
}

/** Splits an `a.b.c.d:port` string made by `formatEndpoint` over an IPv4 address; undefined for anything else. */
export function splitIPv4Endpoint(endpoint: string): { address: string; port: number } | undefined {
  const parsed = parseEndpoint(endpoint);
  if (parsed === undefined || !isIPv4(parsed.host)) return undefined;
  return { address: parsed.host, port: parsed.port };
}
