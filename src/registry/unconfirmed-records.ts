/**
 * Records of nodes that local discovery does not (yet) report alive, held out of the registry: out of the view, and
 * never passed on in digests or exchanges, so what this node cannot vouch for does not spread through it. A node's
 * record can arrive before its first beacon does (relayed by gossipsub, or in a peer's full exchange), so it is not
 * refused at once; discovery confirming the node releases it into the registry. No I/O and no timers: the caller
 * passes the time (monotonic milliseconds) and decides what to do with a record held too long.
 */
import { compareStamps, mergeRecords, type NodeRecord, type RecordStamp } from './node-record.ts';

export interface HeldRecord {
  readonly record: NodeRecord;
  /** When the first record of this life of the node arrived. */
  readonly since: number;
}

export class UnconfirmedRecords {
  private readonly held = new Map<string, HeldRecord>();

  /** Holds `record`, merged with any held copy (newer stamp wins); returns whether anything changed. */
  hold(record: NodeRecord, now: number): boolean {
    const current = this.held.get(record.nodeId);
    const merged = mergeRecords(current?.record, record)!;
    if (merged === current?.record) return false;
    // A new life of the node gets a grace of its own; a newer version of the same life does not extend it.
    const since = current !== undefined && current.record.incarnation === merged.incarnation ? current.since : now;
    this.held.set(record.nodeId, { record: merged, since });
    return true;
  }

  get(nodeId: string): HeldRecord | undefined {
    return this.held.get(nodeId);
  }

  delete(nodeId: string): void {
    this.held.delete(nodeId);
  }

  /** Drops the held record of `nodeId` if it is of `incarnation` or older (that life is over). */
  discardUpTo(nodeId: string, incarnation: number | undefined): void {
    const current = this.held.get(nodeId);
    if (current !== undefined && (incarnation === undefined || current.record.incarnation <= incarnation)) this.held.delete(nodeId);
  }

  /** Whether a record at least as new as `stamp` is held (a digest mentioning it is nothing to fetch). */
  covers(stamp: RecordStamp): boolean {
    const current = this.held.get(stamp.nodeId);
    return current !== undefined && compareStamps(current.record, stamp) >= 0;
  }

  list(): HeldRecord[] {
    return [...this.held.values()];
  }

  get size(): number {
    return this.held.size;
  }

  clear(): void {
    this.held.clear();
  }
}
