/**
 * A TCP relay on 127.0.0.1 between a client and a real server, for tests of networks that fail without telling
 * anyone. `silence()` drops every byte both ways from then on while both connections stay open, as a firewall
 * dropping packets does: neither end hears a close, and the relay's kernel still answers TCP keepalive probes, so
 * only an end that expects answers can notice. `cut()` closes everything, as the far end finally giving up would.
 * `replyDelayMs` holds back what the server sends by that long, as a slow network would.
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net';

export class TcpRelay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #replyDelayMs: number;
  #silent = false;
  #hangUpOnAccept = false;

  private constructor(server: Server, replyDelayMs: number) {
    this.#server = server;
    this.#replyDelayMs = replyDelayMs;
  }

  /** A relay to `targetPort` on 127.0.0.1, listening on a free port of its own. */
  static async start(targetPort: number, options: { replyDelayMs?: number } = {}): Promise<TcpRelay> {
    const server = createServer();
    const relay = new TcpRelay(server, options.replyDelayMs ?? 0);
    server.on('connection', (downstream) => relay.#relay(downstream, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return relay;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** Connections open through the relay (each counted once, not per side). */
  get connections(): number {
    return this.#sockets.size / 2;
  }

  silence(): void {
    this.#silent = true;
  }

  /** Accepts new connections and closes them at once, as a proxy in front of a server that is down does. */
  hangUpOnAccept(): void {
    this.#hangUpOnAccept = true;
  }

  /** Relays again (connections opened from now on; those silenced stay silent: `cut()` them). */
  resume(): void {
    this.#silent = false;
    this.#hangUpOnAccept = false;
  }

  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #relay(downstream: Socket, targetPort: number): void {
    if (this.#hangUpOnAccept) {
      downstream.destroy();
      return;
    }
    const upstream = createConnection({ port: targetPort, host: '127.0.0.1' });
    for (const [from, to] of [
      [downstream, upstream],
      [upstream, downstream],
    ] as const) {
      this.#sockets.add(from);
      const delayMs = from === upstream ? this.#replyDelayMs : 0;
      from.on('data', (chunk) => {
        if (this.#silent) return;
        if (delayMs === 0) to.write(chunk);
        else setTimeout(() => to.write(chunk), delayMs);
      });
      from.on('error', () => {});
      from.on('close', () => {
        this.#sockets.delete(from);
        if (!this.#silent) to.destroy();
      });
    }
  }
}
