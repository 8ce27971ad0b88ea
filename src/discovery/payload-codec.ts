/**
 * The payload inside a gossip packet's ciphertext (protocol version 1), big-endian:
 *
 * ```
 * u8 len + clusterName · u8 len + nodeId · u8 len + nodeName
 * u64 incarnation · u64 sequence · u64 timestamp (Unix ms)
 * u8 flags: bit 0 truncated, bit 1 sent to the group (else by unicast); the others zero
 * u8 count × (u8 len + addr) · u8 count × (u8 len + role) · u8 count × (u8 len + store)
 * u8 count × (4-byte IPv4 + u16 port)   hints: endpoints of peers the sender knows
 * ```
 *
 * The decoder runs only on authenticated bytes and still trusts nothing: every length, count, character and number is
 * checked against the limits in `constants.ts`, and the payload must end exactly where its last field does. Text
 * fields are restricted to printable ASCII patterns, so no decoding of arbitrary Unicode is needed.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import {
  MAX_ADDR_BYTES,
  MAX_ADDRS,
  MAX_CLUSTER_NAME_BYTES,
  MAX_HINTS,
  MAX_NODE_ID_BYTES,
  MAX_NODE_NAME_BYTES,
  MAX_ROLE_BYTES,
  MAX_ROLES,
  MAX_STORE_BYTES,
  MAX_STORES,
} from './constants.ts';
import { readEndpoint, splitIPv4Endpoint, writeEndpoint } from './endpoint.ts';

export interface GossipPayload {
  readonly clusterName: string;
  readonly nodeId: string;
  readonly nodeName: string;
  readonly incarnation: number;
  /** Grows by one with every packet the node sends in this incarnation, to any destination. */
  readonly sequence: number;
  /** The sender's clock when it sealed the packet, Unix milliseconds. */
  readonly timestamp: number;
  /** Some addrs, roles or stores were left out to fit one datagram. */
  readonly truncated: boolean;
  /**
   * Sent to the multicast group or broadcast address rather than to one endpoint. A receiver cannot always tell by
   * the socket (a wildcard-bound socket gets both), and needs to know which peers hear it only by unicast.
   */
  readonly toGroup: boolean;
  readonly addrs: readonly string[];
  readonly roles: readonly string[];
  readonly stores: readonly string[];
  /** `a.b.c.d:port` endpoints of peers the sender knows. */
  readonly hints: readonly string[];
}

interface TextField {
  readonly pattern: RegExp;
  readonly maxBytes: number;
  readonly expected: string;
}

export const CLUSTER_NAME_FIELD: TextField = {
  pattern: /^[A-Za-z0-9._-]{1,64}$/,
  maxBytes: MAX_CLUSTER_NAME_BYTES,
  expected: 'letters, digits, `.`, `_` and `-` (1–64)',
};
export const NODE_ID_FIELD: TextField = {
  pattern: /^[A-Za-z0-9._:-]{1,128}$/,
  maxBytes: MAX_NODE_ID_BYTES,
  expected: 'letters, digits, `.`, `_`, `:` and `-` (1–128)',
};
export const NODE_NAME_FIELD: TextField = {
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/,
  maxBytes: MAX_NODE_NAME_BYTES,
  expected: 'letters, digits, `.`, `_` and `-`, starting with a letter or digit (1–253)',
};
export const ADDR_FIELD: TextField = {
  pattern: /^\/[\x21-\x7e]{1,254}$/,
  maxBytes: MAX_ADDR_BYTES,
  expected: 'a multiaddr: `/` then printable ASCII without spaces (2–255)',
};
export const ROLE_FIELD: TextField = {
  pattern: /^[A-Za-z0-9_-]{1,64}$/,
  maxBytes: MAX_ROLE_BYTES,
  expected: 'letters, digits, `_` and `-` (1–64)',
};
export const STORE_FIELD: TextField = {
  pattern: /^[A-Za-z0-9_-]{1,64}$/,
  maxBytes: MAX_STORE_BYTES,
  expected: 'letters, digits, `_` and `-` (1–64)',
};

const FLAG_TRUNCATED = 0x01;
const FLAG_TO_GROUP = 0x02;
const KNOWN_FLAGS = FLAG_TRUNCATED | FLAG_TO_GROUP;
const ENDPOINT_BYTES = 6;
/** Three u8 lengths, three u64 numbers, the flags and four u8 counts. */
const FIXED_BYTES = 3 + 3 * 8 + 1 + 4;

export function isValidText(field: TextField, value: unknown): value is string {
  return typeof value === 'string' && value.length <= field.maxBytes && field.pattern.test(value);
}

function requireText(field: TextField, name: string, value: unknown): string {
  if (!isValidText(field, value)) throw new InvalidArgumentError(name, `must be ${field.expected}`);
  return value;
}

function requireCount(name: string, count: number, max: number): void {
  if (count > max) throw new InvalidArgumentError(name, `holds ${count} items, at most ${max} allowed`);
}

function requireNumber(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(name, `must be an integer from ${min} to ${Number.MAX_SAFE_INTEGER}`);
  }
}

/** Text fields are ASCII, so their byte length is their string length. */
function listBytes(items: readonly string[]): number {
  let total = 0;
  for (const item of items) total += 1 + item.length;
  return total;
}

export function encodedPayloadBytes(p: GossipPayload): number {
  return (
    FIXED_BYTES +
    p.clusterName.length +
    p.nodeId.length +
    p.nodeName.length +
    listBytes(p.addrs) +
    listBytes(p.roles) +
    listBytes(p.stores) +
    p.hints.length * ENDPOINT_BYTES
  );
}

/** Checks every field against the protocol's limits; throws InvalidArgumentError naming the first bad one. */
export function validatePayload(p: GossipPayload): void {
  requireText(CLUSTER_NAME_FIELD, 'clusterName', p.clusterName);
  requireText(NODE_ID_FIELD, 'nodeId', p.nodeId);
  requireText(NODE_NAME_FIELD, 'nodeName', p.nodeName);
  requireNumber('incarnation', p.incarnation, 0);
  requireNumber('sequence', p.sequence, 1);
  requireNumber('timestamp', p.timestamp, 0);
  requireCount('addrs', p.addrs.length, MAX_ADDRS);
  p.addrs.forEach((addr, i) => requireText(ADDR_FIELD, `addrs[${i}]`, addr));
  requireCount('roles', p.roles.length, MAX_ROLES);
  p.roles.forEach((role, i) => requireText(ROLE_FIELD, `roles[${i}]`, role));
  requireCount('stores', p.stores.length, MAX_STORES);
  p.stores.forEach((store, i) => requireText(STORE_FIELD, `stores[${i}]`, store));
  requireCount('hints', p.hints.length, MAX_HINTS);
  p.hints.forEach((hint, i) => {
    const split = splitIPv4Endpoint(hint);
    if (split === undefined) throw new InvalidArgumentError(`hints[${i}]`, 'must be an IPv4 endpoint a.b.c.d:port');
  });
}

/**
 * The payload trimmed to fit `maxBytes`: hints go first (they only speed discovery up), then stores, roles and addrs
 * from the end, and if any of those had to go the result is flagged `truncated`. The fixed fields always fit, since
 * their limits add up to far less than a datagram.
 */
export function fitPayload(p: GossipPayload, maxBytes: number): GossipPayload {
  let size = encodedPayloadBytes(p);
  if (size <= maxBytes) return p;
  const hints = [...p.hints];
  const lists = { stores: [...p.stores], roles: [...p.roles], addrs: [...p.addrs] };
  while (size > maxBytes && hints.length > 0) {
    hints.pop();
    size -= ENDPOINT_BYTES;
  }
  let truncated = p.truncated;
  for (const list of [lists.stores, lists.roles, lists.addrs]) {
    while (size > maxBytes && list.length > 0) {
      size -= 1 + (list.pop() ?? '').length;
      truncated = true;
    }
  }
  return { ...p, ...lists, hints, truncated };
}

class Writer {
  readonly buffer: Buffer;
  private offset = 0;

  constructor(size: number) {
    this.buffer = Buffer.alloc(size);
  }

  u8(value: number): void {
    this.buffer[this.offset] = value;
    this.offset += 1;
  }

  u64(value: number): void {
    this.buffer.writeBigUInt64BE(BigInt(value), this.offset);
    this.offset += 8;
  }

  text(value: string): void {
    this.u8(value.length);
    this.offset += this.buffer.write(value, this.offset, 'latin1');
  }

  list(values: readonly string[]): void {
    this.u8(values.length);
    for (const value of values) this.text(value);
  }

  endpoint(value: string): void {
    const split = splitIPv4Endpoint(value);
    if (split === undefined) throw new InvalidArgumentError('hints', `'${value}' is not an IPv4 endpoint`);
    this.offset = writeEndpoint(this.buffer, this.offset, split.address, split.port);
  }
}

/** Encodes a payload; throws InvalidArgumentError if a field breaks the protocol's limits. */
export function encodePayload(p: GossipPayload): Buffer {
  validatePayload(p);
  const writer = new Writer(encodedPayloadBytes(p));
  writer.text(p.clusterName);
  writer.text(p.nodeId);
  writer.text(p.nodeName);
  writer.u64(p.incarnation);
  writer.u64(p.sequence);
  writer.u64(p.timestamp);
  writer.u8((p.truncated ? FLAG_TRUNCATED : 0) | (p.toGroup ? FLAG_TO_GROUP : 0));
  writer.list(p.addrs);
  writer.list(p.roles);
  writer.list(p.stores);
  writer.u8(p.hints.length);
  for (const hint of p.hints) writer.endpoint(hint);
  return writer.buffer;
}

class Reader {
  private readonly buffer: Buffer;
  private offset = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  private need(name: string, bytes: number): void {
    if (this.offset + bytes > this.buffer.length) {
      throw new InvalidArgumentError(name, 'runs past the end of the payload');
    }
  }

  u8(name: string): number {
    this.need(name, 1);
    const value = this.buffer[this.offset] ?? 0;
    this.offset += 1;
    return value;
  }

  u64(name: string, min: number): number {
    this.need(name, 8);
    const big = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError(name, 'is beyond the safe integer range');
    const value = Number(big);
    if (value < min) throw new InvalidArgumentError(name, `must be at least ${min}`);
    return value;
  }

  text(name: string, field: TextField): string {
    const length = this.u8(name);
    if (length > field.maxBytes) throw new InvalidArgumentError(name, `is ${length} bytes, at most ${field.maxBytes}`);
    this.need(name, length);
    // latin1 maps each byte to one code unit; the ASCII-only pattern then rejects every byte above 0x7e.
    const value = this.buffer.toString('latin1', this.offset, this.offset + length);
    this.offset += length;
    if (!field.pattern.test(value)) throw new InvalidArgumentError(name, `must be ${field.expected}`);
    return value;
  }

  list(name: string, field: TextField, max: number): string[] {
    const count = this.u8(`${name}.length`);
    requireCount(name, count, max);
    const items: string[] = [];
    for (let i = 0; i < count; i += 1) items.push(this.text(`${name}[${i}]`, field));
    return items;
  }

  endpoints(name: string, max: number): string[] {
    const count = this.u8(`${name}.length`);
    requireCount(name, count, max);
    const items: string[] = [];
    for (let i = 0; i < count; i += 1) {
      this.need(`${name}[${i}]`, ENDPOINT_BYTES);
      const endpoint = readEndpoint(this.buffer, this.offset);
      this.offset += ENDPOINT_BYTES;
      if (this.buffer.readUInt16BE(this.offset - 2) === 0) {
        throw new InvalidArgumentError(`${name}[${i}]`, 'has port 0');
      }
      items.push(endpoint);
    }
    return items;
  }

  end(): void {
    if (this.offset !== this.buffer.length) {
      throw new InvalidArgumentError('payload', `has ${this.buffer.length - this.offset} bytes after its last field`);
    }
  }
}

/** Decodes and validates a payload; throws InvalidArgumentError naming the first field that is wrong. */
export function decodePayload(bytes: Buffer): GossipPayload {
  const r = new Reader(bytes);
  const clusterName = r.text('clusterName', CLUSTER_NAME_FIELD);
  const nodeId = r.text('nodeId', NODE_ID_FIELD);
  const nodeName = r.text('nodeName', NODE_NAME_FIELD);
  const incarnation = r.u64('incarnation', 0);
  const sequence = r.u64('sequence', 1);
  const timestamp = r.u64('timestamp', 0);
  const flags = r.u8('flags');
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new InvalidArgumentError('flags', `has unknown bits 0x${flags.toString(16)}`);
  const addrs = r.list('addrs', ADDR_FIELD, MAX_ADDRS);
  const roles = r.list('roles', ROLE_FIELD, MAX_ROLES);
  const stores = r.list('stores', STORE_FIELD, MAX_STORES);
  const hints = r.endpoints('hints', MAX_HINTS);
  r.end();
  return {
    clusterName,
    nodeId,
    nodeName,
    incarnation,
    sequence,
    timestamp,
    truncated: (flags & FLAG_TRUNCATED) !== 0,
    toGroup: (flags & FLAG_TO_GROUP) !== 0,
    addrs,
    roles,
    stores,
    hints,
  };
}
