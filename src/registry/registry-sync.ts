/**
 * Keeps this node's registry in step with the cluster:
 * - every local change is published at once (gossipsub);
 * - every `digestIntervalMs` the node republishes its own record and a digest of all it holds, so a node that missed
 *   a message notices (its digest is behind) and asks for a full exchange;
 * - when two peers connect they exchange everything they hold;
 * - a peer declared dead is purged (the caller says so; membership is discovery's business);
 * - with a `membership`, a record of another node is believed only while discovery reports that node alive at the
 *   record's incarnation (membership.ts). Others are held out of the view (unconfirmed-records.ts) and dropped after
 *   `unconfirmedGraceMs`, and a believed record whose node discovery stops reporting leaves after the same grace.
 * The transport is abstract: the registry knows nothing of libp2p.
 *
 * Why tie records to membership rather than carry tombstones of the dead in exchanges: a purge happens only where
 * discovery saw the node die, so a node that joined after the death never learns of it from its own discovery, and a
 * record exchanged to it would live there for ever and spread to every later joiner. Tombstones would have to reach
 * every such node, be kept as long as any copy of the record might still travel, and be trusted from third parties;
 * the membership rule needs nothing on the wire and holds whatever was missed: every node vouches, by its own
 * discovery, for what it shows and passes on. The grace covers the one honest case of a record before a beacon, a
 * node that just joined or restarted: it is discovery's dead window, because a node unheard that long would be
 * declared dead had it been known, and one that was not a member when its record was dropped is readmitted, and its
 * record fetched again, as soon as discovery hears it.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import {
  RegistryMessageKind,
  decodeRegistryMessage,
  encodeRegistryMessage,
  type RegistryMessage,
} from './record-codec.ts';
import { membershipOf, type Membership } from './membership.ts';
import type { NodeRecord } from './node-record.ts';
import { UnconfirmedRecords } from './unconfirmed-records.ts';
import type { WorkerRegistry } from './worker-registry.ts';

/** How often the own record and a digest are republished. */
export const DIGEST_INTERVAL_MS = 2_000;
/**
 * How long a record of a node local discovery does not report alive is held before it is dropped: discovery's dead
 * window with its default interval (5 × 1 s). The node composing discovery and the registry passes the dead window
 * discovery actually uses.
 */
export const UNCONFIRMED_GRACE_MS = 5_000;
/**
 * How long a purge is remembered, refusing late copies of the purged node's record: discovery's forget window with its
 * default interval (60 × 1 s), so the registry forgets a dead node when discovery does. Peers give a dead node up
 * within about one dead window of each other and an exchange in flight lasts at most 5 s, so copies stop coming long
 * before; one that comes later is held out of the view like any record discovery does not vouch for. The node
 * composing discovery and the registry passes the forget window discovery actually uses.
 */
export const PURGE_MEMORY_MS = 60_000;

export interface RegistryTransport {
  /** Publishes to every peer (gossipsub topic). */
  publish(bytes: Uint8Array): Promise<void>;
  /** Receives what peers publish; `from` is the authenticated sender. Returns the unsubscribe function. */
  onMessage(handler: (bytes: Uint8Array, from: string) => void): () => void;
  /** Full exchange: sends `bytes` to one peer and resolves with its answer. */
  request(peerId: string, bytes: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
  /** Answers full-exchange requests from peers. Returns the function that stops answering. */
  onRequest(handler: (bytes: Uint8Array, from: string) => Promise<Uint8Array>): () => void;
}

export interface RegistrySyncStats {
  published: number;
  received: number;
  exchanges: number;
  dropped: number;
  /** Records held now because discovery does not report their node alive. */
  held: number;
  /** Records given up because discovery did not report their node alive within the grace. */
  unconfirmedDropped: number;
}

export interface RegistrySyncComponents {
  registry: WorkerRegistry;
  transport: RegistryTransport;
  logger?: Logger;
  /** Who is alive, as local discovery sees it. Without it every record is believed at once: a registry used alone. */
  membership?: Membership;
  /** Monotonic milliseconds. @default performance.now */
  now?: () => number;
}

export interface RegistrySyncInit {
  /** @default 2000 */
  digestIntervalMs?: number;
  /** Deadline of one full exchange. @default 5000 */
  exchangeTimeoutMs?: number;
  /**
   * With a `membership`: how long a record of a node discovery does not report alive is held out of the view before
   * it is dropped, and how long a believed record outlives its node's absence from discovery, in milliseconds. Checked
   * every `digestIntervalMs`. Give it discovery's dead window. @default 5000 (UNCONFIRMED_GRACE_MS)
   */
  unconfirmedGraceMs?: number;
  /** How long a purged node's late copies are refused, in milliseconds; checked every `digestIntervalMs`.
   * @default 60000 (PURGE_MEMORY_MS) */
  purgeMemoryMs?: number;
}

export class RegistrySync {
  private readonly registry: WorkerRegistry;
  private readonly transport: RegistryTransport;
  private readonly logger: Logger;
  private readonly digestIntervalMs: number;
  private readonly exchangeTimeoutMs: number;
  private readonly unconfirmedGraceMs: number;
  private readonly purgeMemoryMs: number;
  private readonly membership: Membership | undefined;
  private readonly now: () => number;
  private readonly unconfirmed = new UnconfirmedRecords();
  /** Nodes whose believed record discovery stopped confirming, with since when. */
  private readonly lapsed = new Map<string, number>();
  private readonly cleanups: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly exchanging = new Set<string>();
  private readonly counters = { published: 0, received: 0, exchanges: 0, dropped: 0, unconfirmedDropped: 0 };
  private running = false;

  constructor(components: RegistrySyncComponents, init: RegistrySyncInit = {}) {
    this.registry = components.registry;
    this.transport = components.transport;
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.digestIntervalMs = init.digestIntervalMs ?? DIGEST_INTERVAL_MS;
    this.exchangeTimeoutMs = init.exchangeTimeoutMs ?? 5_000;
    this.unconfirmedGraceMs = init.unconfirmedGraceMs ?? UNCONFIRMED_GRACE_MS;
    this.purgeMemoryMs = init.purgeMemoryMs ?? PURGE_MEMORY_MS;
    this.membership = components.membership;
    this.now = components.now ?? (() => performance.now());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.cleanups.push(
      this.transport.onMessage((bytes, from) => this.onMessage(bytes, from)),
      this.transport.onRequest(async (bytes, from) => this.answer(bytes, from)),
      this.registry.onLocalChange((record) => void this.send({ kind: RegistryMessageKind.Record, record })),
    );
    this.timer = setInterval(() => this.tick(), this.digestIntervalMs);
    this.timer.unref();
    void this.send({ kind: RegistryMessageKind.Record, record: this.registry.localRecord() });
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.unconfirmed.clear();
    this.lapsed.clear();
  }

  stats(): RegistrySyncStats {
    return { ...this.counters, held: this.unconfirmed.size };
  }

  /** Full exchange with a peer that just connected (both sides call this; it is idempotent). */
  async exchangeWith(peerId: string): Promise<void> {
    if (!this.running || this.exchanging.has(peerId)) return;
    this.exchanging.add(peerId);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.exchangeTimeoutMs);
    try {
      const request = encodeRegistryMessage({ kind: RegistryMessageKind.Records, records: this.registry.allRecords() });
      const answer = decodeRegistryMessage(await this.transport.request(peerId, request, controller.signal));
      if (answer?.kind !== RegistryMessageKind.Records) {
        this.counters.dropped++;
        return;
      }
      this.counters.exchanges++;
      for (const record of answer.records) this.accept(record);
    } catch (err) {
      this.logger.debug({ err, peer: peerId }, 'registry exchange failed');
    } finally {
      clearTimeout(timer);
      this.exchanging.delete(peerId);
    }
  }

  /** A peer left the cluster: its workers leave the view, and a held record of that life of it goes too. */
  peerDead(peerId: string, incarnation?: number): void {
    this.registry.purgeNode(peerId, incarnation);
    this.unconfirmed.discardUpTo(peerId, incarnation);
    this.lapsed.delete(peerId);
  }

  /** Discovery reports a peer alive: a record of it held until then joins the view at once. */
  peerAlive(peerId: string): void {
    this.lapsed.delete(peerId);
    const held = this.unconfirmed.get(peerId);
    if (held !== undefined) this.judge(held.record, held.since, this.now());
  }

  /**
   * Holds every record against membership: held records whose node is now confirmed join the view, those of a past
   * life or held beyond the grace are dropped; believed records whose node discovery no longer reports leave after
   * the grace (a `peer:down` normally purges them first).
   */
  reconcile(): void {
    if (this.membership === undefined) return;
    const now = this.now();
    for (const { record, since } of this.unconfirmed.list()) this.judge(record, since, now);
    for (const record of this.registry.allRecords()) {
      if (record.nodeId === this.registry.nodeId) continue;
      if (membershipOf(record, this.membership.liveIncarnation(record.nodeId)) === 'confirmed') {
        this.lapsed.delete(record.nodeId);
        continue;
      }
      const since = this.lapsed.get(record.nodeId) ?? now;
      this.lapsed.set(record.nodeId, since);
      if (now - since < this.unconfirmedGraceMs) continue;
      this.lapsed.delete(record.nodeId);
      this.registry.purgeNode(record.nodeId, record.incarnation);
      this.logger.warn({ peer: record.nodeId, incarnation: record.incarnation }, 'purged the workers of a node discovery no longer reports');
    }
    for (const nodeId of this.lapsed.keys()) if (!this.registry.has(nodeId)) this.lapsed.delete(nodeId);
  }

  /** Takes in a record from the cluster: believed, held, or ignored, by what discovery says of its node. */
  private accept(record: NodeRecord): void {
    if (this.membership === undefined || record.nodeId === this.registry.nodeId) {
      this.registry.apply(record);
      return;
    }
    const verdict = membershipOf(record, this.membership.liveIncarnation(record.nodeId));
    if (verdict === 'confirmed') this.registry.apply(record);
    else if (verdict === 'unconfirmed' && !this.registry.refuses(record)) this.unconfirmed.hold(record, this.now());
  }

  /** Decides the fate of a held record at `now`. */
  private judge(record: NodeRecord, since: number, now: number): void {
    const verdict = membershipOf(record, this.membership?.liveIncarnation(record.nodeId));
    if (verdict === 'confirmed') {
      this.unconfirmed.delete(record.nodeId);
      this.registry.apply(record);
    } else if (verdict === 'stale') {
      this.unconfirmed.delete(record.nodeId);
    } else if (now - since >= this.unconfirmedGraceMs) {
      this.unconfirmed.delete(record.nodeId);
      this.counters.unconfirmedDropped++;
      // Later copies of this life are refused like those of a purged node (unless an earlier life is still believed
      // here: purging would take it too, and its own node's departure will purge it).
      if (!this.registry.has(record.nodeId)) this.registry.purgeNode(record.nodeId, record.incarnation);
      this.logger.warn(
        { peer: record.nodeId, incarnation: record.incarnation, heldMs: Math.round(now - since), workers: record.entries.length },
        'dropped the registry record of a node discovery never reported alive: it died before this node could hear it, or its gossip does not reach this node',
      );
    }
  }

  private tick(): void {
    this.reconcile();
    this.registry.expirePurges(this.purgeMemoryMs);
    void this.send({ kind: RegistryMessageKind.Record, record: this.registry.localRecord() });
    void this.send({ kind: RegistryMessageKind.Digest, stamps: this.registry.digest() });
  }

  private async send(message: RegistryMessage): Promise<void> {
    try {
      await this.transport.publish(encodeRegistryMessage(message));
      this.counters.published++;
    } catch (err) {
      // No peers subscribed yet is normal while the mesh forms.
      this.logger.trace({ err }, 'registry publish failed');
    }
  }

  private onMessage(bytes: Uint8Array, from: string): void {
    const message = decodeRegistryMessage(bytes);
    if (message === undefined) {
      this.counters.dropped++;
      this.logger.debug({ peer: from }, 'dropped a malformed registry message');
      return;
    }
    this.counters.received++;
    switch (message.kind) {
      case RegistryMessageKind.Record:
        // A published record is only believed from the node it describes (gossip is signed by its sender).
        if (message.record.nodeId !== from) {
          this.counters.dropped++;
          return;
        }
        this.accept(message.record);
        return;
      case RegistryMessageKind.Digest:
        // What is held awaiting discovery is nothing to fetch again.
        if (this.registry.behind(message.stamps.filter((s) => !this.unconfirmed.covers(s)))) void this.exchangeWith(from);
        return;
      case RegistryMessageKind.Records:
        for (const record of message.records) this.accept(record);
        return;
    }
  }

  private async answer(bytes: Uint8Array, from: string): Promise<Uint8Array> {
    const message = decodeRegistryMessage(bytes);
    if (message?.kind === RegistryMessageKind.Records) {
      for (const record of message.records) this.accept(record);
    } else {
      this.counters.dropped++;
      this.logger.debug({ peer: from }, 'dropped a malformed registry exchange');
    }
    return encodeRegistryMessage({ kind: RegistryMessageKind.Records, records: this.registry.allRecords() });
  }
}
