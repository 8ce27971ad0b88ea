/**
 * Whom a record may describe. Records of other nodes arrive over the mesh, relayed and exchanged by third parties, so
 * a record says nothing about whether its node still lives: only local discovery does, and only discovery ever
 * declares a node dead here. A record is therefore believed only for a node discovery reports alive (or suspect) at
 * the record's incarnation; see unconfirmed-records.ts for what happens to the others.
 */
import type { NodeRecord } from './node-record.ts';

/** What the registry needs of discovery. */
export interface Membership {
  /** The incarnation at which local discovery reports `nodeId` alive or suspect; undefined when it does not (never
   * heard, dead, or forgotten). */
  liveIncarnation(nodeId: string): number | undefined;
}

/**
 * - `confirmed`: discovery reports the node live at the record's incarnation;
 * - `stale`: discovery reports a later life of the node, so the record describes a past one;
 * - `unconfirmed`: discovery does not report the node, or not yet this life of it (a restart it has not heard).
 */
export type MembershipVerdict = 'confirmed' | 'stale' | 'unconfirmed';

/** Pure: the verdict on `record` when discovery reports its node live at `liveIncarnation`. */
export function membershipOf(record: Pick<NodeRecord, 'incarnation'>, liveIncarnation: number | undefined): MembershipVerdict {
  if (liveIncarnation === undefined || record.incarnation > liveIncarnation) return 'unconfirmed';
  return record.incarnation === liveIncarnation ? 'confirmed' : 'stale';
}
