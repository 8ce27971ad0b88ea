/**
 * Wire form of registry messages. Everything received is validated field by field before it is used: a message from
 * the mesh is authenticated (private network, signed gossip) but still never trusted to be well formed.
 */
import type { NodeRecord, RecordStamp } from './node-record.ts';
import type { WorkerEntry } from './worker-entry.ts';

/** Message kinds; part of the protocol, only ever add. */
export const RegistryMessageKind = {
  /** One node's record, published by that node on every change and periodically. */
  Record: 1,
  /** Stamps of every record the sender holds (anti-entropy). */
  Digest: 2,
  /** Answer of a full exchange: every record the sender holds. */
  Records: 3,
} as const;

export type RegistryMessage =
  | { kind: typeof RegistryMessageKind.Record; record: NodeRecord }
  | { kind: typeof RegistryMessageKind.Digest; stamps: RecordStamp[] }
  | { kind: typeof RegistryMessageKind.Records; records: NodeRecord[] };

export const REGISTRY_PROTOCOL_VERSION = 1;
/** Largest registry message accepted. */
export const MAX_REGISTRY_MESSAGE_BYTES = 4 * 1024 * 1024;
const MAX_ENTRIES_PER_NODE = 4096;
const MAX_RECORDS = 4096;
const MAX_STRING = 1024;
const BACKENDS = new Set(['sqlite', 'postgres']);

export function encodeRegistryMessage(message: RegistryMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: REGISTRY_PROTOCOL_VERSION, ...message }));
}

/** Returns the message, or undefined for anything malformed (the caller counts and drops it). */
export function decodeRegistryMessage(bytes: Uint8Array): RegistryMessage | undefined {
  if (bytes.byteLength > MAX_REGISTRY_MESSAGE_BYTES) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (!isObject(raw) || raw['v'] !== REGISTRY_PROTOCOL_VERSION) return undefined;
  switch (raw['kind']) {
    case RegistryMessageKind.Record: {
      const record = decodeRecord(raw['record']);
      return record && { kind: RegistryMessageKind.Record, record };
    }
    case RegistryMessageKind.Digest: {
      const list = raw['stamps'];
      if (!Array.isArray(list) || list.length > MAX_RECORDS) return undefined;
      const stamps: RecordStamp[] = [];
      for (const s of list) {
        const stamp = decodeStamp(s);
        if (stamp === undefined) return undefined;
        stamps.push(stamp);
      }
      return { kind: RegistryMessageKind.Digest, stamps };
    }
    case RegistryMessageKind.Records: {
      const list = raw['records'];
      if (!Array.isArray(list) || list.length > MAX_RECORDS) return undefined;
      const records: NodeRecord[] = [];
      for (const r of list) {
        const record = decodeRecord(r);
        if (record === undefined) return undefined;
        records.push(record);
      }
      return { kind: RegistryMessageKind.Records, records };
    }
    default:
      return undefined;
  }
}

function decodeStamp(raw: unknown): RecordStamp | undefined {
  if (!isObject(raw)) return undefined;
  const { nodeId, incarnation, version } = raw;
  if (!isString(nodeId) || !isCount(incarnation) || !isCount(version)) return undefined;
  return { nodeId, incarnation, version };
}

function decodeRecord(raw: unknown): NodeRecord | undefined {
  const stamp = decodeStamp(raw);
  if (stamp === undefined || !isObject(raw)) return undefined;
  const list = raw['entries'];
  if (!Array.isArray(list) || list.length > MAX_ENTRIES_PER_NODE) return undefined;
  const entries: WorkerEntry[] = [];
  for (const e of list) {
    const entry = decodeEntry(e, stamp.nodeId);
    if (entry === undefined) return undefined;
    entries.push(entry);
  }
  return { ...stamp, entries };
}

function decodeEntry(raw: unknown, nodeId: string): WorkerEntry | undefined {
  if (!isObject(raw)) return undefined;
  const { store, workerId, addrs, backend, startedAt } = raw;
  if (!isString(store) || !isString(workerId) || !isString(startedAt)) return undefined;
  if (typeof backend !== 'string' || !BACKENDS.has(backend)) return undefined;
  if (!Array.isArray(addrs) || addrs.length > 64 || !addrs.every(isString)) return undefined;
  return { store, workerId, nodeId, addrs: addrs as string[], backend: backend as WorkerEntry['backend'], startedAt };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_STRING;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
