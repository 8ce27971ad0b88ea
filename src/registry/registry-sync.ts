/**
 * Keeps this node's registry in step with the cluster:
 * - every local change is published at once (gossipsub);
 * - every `digestIntervalMs` the node republishes its own record and a digest of all it holds, so a node that missed
 *   a message notices (its digest is behind) and asks for a full exchange;
 * - when two peers connect they exchange everything they hold;
 * - a peer declared dead is purged (the caller says so; membership is discovery's business).
 * The transport is abstract: the registry knows nothing of libp2p.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import {
  RegistryMessageKind,
  decodeRegistryMessage,
  encodeRegistryMessage,
  type RegistryMessage,
} from './record-codec.ts';
import type { WorkerRegistry } from './worker-registry.ts';

/** How often the own record and a digest are republished. */
export const DIGEST_INTERVAL_MS = 2_000;

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
}

export interface RegistrySyncComponents {
  registry: WorkerRegistry;
  transport: RegistryTransport;
  logger?: Logger;
}

export interface RegistrySyncInit {
  /** @default 2000 */
  digestIntervalMs?: number;
  /** Deadline of one full exchange. @default 5000 */
  exchangeTimeoutMs?: number;
}

export class RegistrySync {
  private readonly registry: WorkerRegistry;
  private readonly transport: RegistryTransport;
  private readonly logger: Logger;
  private readonly digestIntervalMs: number;
  private readonly exchangeTimeoutMs: number;
  private readonly cleanups: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly exchanging = new Set<string>();
  private readonly counters: RegistrySyncStats = { published: 0, received: 0, exchanges: 0, dropped: 0 };
  private running = false;

  constructor(components: RegistrySyncComponents, init: RegistrySyncInit = {}) {
    this.registry = components.registry;
    this.transport = components.transport;
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.digestIntervalMs = init.digestIntervalMs ?? DIGEST_INTERVAL_MS;
    this.exchangeTimeoutMs = init.exchangeTimeoutMs ?? 5_000;
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
  }

  stats(): RegistrySyncStats {
    return { ...this.counters };
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
      for (const record of answer.records) this.registry.apply(record);
    } catch (err) {
      this.logger.debug({ err, peer: peerId }, 'registry exchange failed');
    } finally {
      clearTimeout(timer);
      this.exchanging.delete(peerId);
    }
  }

  /** A peer left the cluster: its workers leave the view. */
  peerDead(peerId: string, incarnation?: number): void {
    this.registry.purgeNode(peerId, incarnation);
  }

  private tick(): void {
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
        this.registry.apply(message.record);
        return;
      case RegistryMessageKind.Digest:
        if (this.registry.behind(message.stamps)) void this.exchangeWith(from);
        return;
      case RegistryMessageKind.Records:
        for (const record of message.records) this.registry.apply(record);
        return;
    }
  }

  private async answer(bytes: Uint8Array, from: string): Promise<Uint8Array> {
    const message = decodeRegistryMessage(bytes);
    if (message?.kind === RegistryMessageKind.Records) {
      for (const record of message.records) this.registry.apply(record);
    } else {
      this.counters.dropped++;
      this.logger.debug({ peer: from }, 'dropped a malformed registry exchange');
    }
    return encodeRegistryMessage({ kind: RegistryMessageKind.Records, records: this.registry.allRecords() });
  }
}
