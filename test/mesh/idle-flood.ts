/**
 * An outsider's flood of idle TCP connections, for the mesh's inbound-limit tests: it keeps a number of sockets open
 * to a port from one local address, sends nothing on them (or one greeting, then nothing), and reopens each one the
 * node closes, until stopped.
 * Bounded in sockets, in connections opened overall, and in rate (a closed socket is reopened only after a pause).
 */
import { connect, type Socket } from 'node:net';

export interface IdleFloodInit {
  /** Where the node listens. */
  host: string;
  port: number;
  /** The local address the sockets come from (any 127.x.y.z on loopback): the remote host the node sees. */
  from: string;
  /** Sockets kept open at once. */
  sockets: number;
  /** Pause before a closed socket is reopened. */
  reopenDelayMs: number;
  /** Connections opened in all; the flood stops reopening beyond it. */
  maxConnects: number;
  /** Sent once on every connection as it opens. @default nothing */
  greeting?: Uint8Array;
}

export class IdleFlood {
  /** Connections attempted so far. */
  connects = 0;
  /** For every socket that connected and was closed by the node: how long it lived, ms. */
  readonly lifetimes: number[] = [];
  /** Open sockets, with when each connected (undefined while connecting). */
  private readonly open = new Map<Socket, number | undefined>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = false;
  private readonly init: IdleFloodInit;

  constructor(init: IdleFloodInit) {
    this.init = init;
  }

  /** The longest any socket stayed connected, closed or still open. */
  longestLivedMs(): number {
    const now = Date.now();
    const open = [...this.open.values()].map((at) => (at === undefined ? 0 : now - at));
    return Math.max(0, ...this.lifetimes, ...open);
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.init.sockets; i++) this.openOne();
  }

  /** Stops reopening and closes every socket still open. */
  async stop(): Promise<void> {
    this.running = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closing = [...this.open.keys()].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    for (const socket of this.open.keys()) socket.destroy();
    await Promise.all(closing);
  }

  private openOne(): void {
    if (!this.running || this.connects >= this.init.maxConnects) return;
    this.connects++;
    const socket = connect({ host: this.init.host, port: this.init.port, localAddress: this.init.from });
    this.open.set(socket, undefined);
    socket.on('connect', () => {
      this.open.set(socket, Date.now());
      if (this.init.greeting !== undefined) socket.write(this.init.greeting);
    });
    socket.on('error', () => {}); // refused or reset: the 'close' that follows reopens it
    socket.on('close', () => {
      const connectedAt = this.open.get(socket);
      this.open.delete(socket);
      if (connectedAt !== undefined && this.running) this.lifetimes.push(Date.now() - connectedAt);
      if (!this.running) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.openOne();
      }, this.init.reopenDelayMs);
      this.timers.add(timer);
    });
  }
}
