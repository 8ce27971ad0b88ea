/**
 * Remembers, per node, the newest (incarnation, sequence) accepted, so that a packet captured and sent again is
 * refused even though it authenticates. Entries outlive the peer table's: a packet is only accepted within
 * `maxClockSkewMs` of its timestamp, so once `2 × maxClockSkewMs` have passed since a node's last accepted packet,
 * everything it ever sent is stale and its entry can go.
 */
export type ReplayVerdict = 'new' | 'replay';

interface Seen {
  incarnation: number;
  sequence: number;
  expiresAt: number;
}

export class ReplayGuard {
  private readonly retentionMs: number;
  private readonly seen = new Map<string, Seen>();

  /** `retentionMs`: how long an entry is kept after the node's last accepted packet (monotonic milliseconds). */
  constructor(retentionMs: number) {
    this.retentionMs = retentionMs;
  }

  /** Whether a packet is newer than anything accepted from its node; records it if so. */
  admit(nodeId: string, incarnation: number, sequence: number, now: number): ReplayVerdict {
    const last = this.seen.get(nodeId);
    if (last !== undefined && now < last.expiresAt) {
      if (incarnation < last.incarnation) return 'replay';
      if (incarnation === last.incarnation && sequence <= last.sequence) return 'replay';
    }
    this.seen.set(nodeId, { incarnation, sequence, expiresAt: now + this.retentionMs });
    return 'new';
  }

  /** Forgets entries past their retention. */
  prune(now: number): void {
    for (const [nodeId, entry] of this.seen) if (now >= entry.expiresAt) this.seen.delete(nodeId);
  }

  clear(): void {
    this.seen.clear();
  }

  get size(): number {
    return this.seen.size;
  }
}
