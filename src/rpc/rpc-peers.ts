/**
 * One outgoing RPC connection per peer, opened on first use and kept for the life of the mesh connection. Calls to a
 * peer whose connection drops fail at once (the connection rejects them); the next call dials again.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { UnavailableError } from '../errors/index.ts';
import type { ByteChannel } from './byte-channel.ts';
import { RpcConnection } from './rpc-connection.ts';

/** Opens a byte channel to a peer (a libp2p stream of the RPC protocol). */
export type ChannelDialer = (peerId: string, signal: AbortSignal) => Promise<ByteChannel>;

export interface RpcPeersComponents {
  dial: ChannelDialer;
  logger?: Logger;
}

export interface RpcPeersInit {
  /** Deadline of opening a connection. @default 2000 */
  dialTimeoutMs?: number;
}

export class RpcPeers {
  private readonly dial: ChannelDialer;
  private readonly logger: Logger;
  private readonly dialTimeoutMs: number;
  private readonly connections = new Map<string, RpcConnection>();
  private readonly dialing = new Map<string, Promise<RpcConnection>>();

  constructor(components: RpcPeersComponents, init: RpcPeersInit = {}) {
    this.dial = components.dial;
    this.logger = components.logger ?? pino({ level: 'silent' });
    this.dialTimeoutMs = init.dialTimeoutMs ?? 2_000;
  }

  /** The open connection to a peer, if there is one (the hot path of every call: no promise, no dial). */
  openConnection(peerId: string): RpcConnection | undefined {
    const open = this.connections.get(peerId);
    return open !== undefined && !open.isClosed ? open : undefined;
  }

  /** The connection to a peer, dialled if needed. Failures are `unavailable` with `delivered: false`. */
  connectionTo(peerId: string): Promise<RpcConnection> {
    const open = this.openConnection(peerId);
    if (open !== undefined) return Promise.resolve(open);
    const pending = this.dialing.get(peerId);
    if (pending !== undefined) return pending;
    const attempt = this.open(peerId).finally(() => this.dialing.delete(peerId));
    this.dialing.set(peerId, attempt);
    return attempt;
  }

  /** Calls in flight to a peer. */
  inFlight(peerId: string): number {
    return this.connections.get(peerId)?.inFlight ?? 0;
  }

  /** The peer left: close its connection so every pending call fails now rather than at its deadline. */
  drop(peerId: string): void {
    this.connections.get(peerId)?.close();
    this.connections.delete(peerId);
  }

  closeAll(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }

  private async open(peerId: string): Promise<RpcConnection> {
    const signal = AbortSignal.timeout(this.dialTimeoutMs);
    let channel: ByteChannel;
    try {
      channel = await this.dial(peerId, signal);
    } catch (err) {
      throw new UnavailableError(`cannot reach node ${peerId}`, { peer: peerId, delivered: false }, { cause: err });
    }
    const connection = new RpcConnection({ channel, logger: this.logger }, { peer: peerId });
    this.connections.set(peerId, connection);
    connection.onClose(() => {
      if (this.connections.get(peerId) === connection) this.connections.delete(peerId);
    });
    return connection;
  }
}
