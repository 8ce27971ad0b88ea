/**
 * The unit of replication: everything one node says about its own workers, stamped with the node's incarnation (which
 * grows on every start) and a version (which grows on every change within an incarnation). Only the node itself
 * writes its record, so "newer stamp wins" is a complete conflict rule.
 */
import type { WorkerEntry } from './worker-entry.ts';

export interface NodeRecord {
  nodeId: string;
  incarnation: number;
  version: number;
  /** The node's workers, sorted by workerId. */
  entries: WorkerEntry[];
}

/** A record's stamp, as exchanged in digests. */
export interface RecordStamp {
  nodeId: string;
  incarnation: number;
  version: number;
}

/** Orders two stamps of the same node: negative when `a` is older. */
export function compareStamps(a: Pick<RecordStamp, 'incarnation' | 'version'>, b: Pick<RecordStamp, 'incarnation' | 'version'>): number {
  return a.incarnation !== b.incarnation ? a.incarnation - b.incarnation : a.version - b.version;
}

/**
 * Merges two records of one node: the newer stamp wins. Equal stamps should carry identical content (one writer); if
 * they ever differ, the lexicographically larger encoding wins so that the merge stays commutative and every replica
 * picks the same one.
 */
export function mergeRecords(a: NodeRecord | undefined, b: NodeRecord | undefined): NodeRecord | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const order = compareStamps(a, b);
  if (order !== 0) return order > 0 ? a : b;
  const ea = JSON.stringify(a.entries);
  const eb = JSON.stringify(b.entries);
  return ea >= eb ? a : b;
}

/** The registry state: one record per node. */
export type RegistryState = ReadonlyMap<string, NodeRecord>;

/** Merges two states node by node. Pure; commutative, associative and idempotent (see the property tests). */
export function mergeStates(a: RegistryState, b: RegistryState): Map<string, NodeRecord> {
  const out = new Map(a);
  for (const [nodeId, record] of b) out.set(nodeId, mergeRecords(out.get(nodeId), record)!);
  return out;
}

export function stampOf(record: NodeRecord): RecordStamp {
  return { nodeId: record.nodeId, incarnation: record.incarnation, version: record.version };
}
