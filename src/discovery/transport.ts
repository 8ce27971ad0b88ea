/**
 * The UDP sockets of gossip (`node:dgram`, IPv4). They move bytes and nothing else: every datagram received goes to
 * one callback, whatever socket it came in on.
 *
 * With a group (multicast or broadcast), several nodes on one host share the gossip port, and a datagram sent to a
 * shared port reaches only one of them. So each node has:
 * - a group socket on the gossip port (`reuseAddr`), bound to the group address so that it only receives group
 *   traffic (Linux and BSD filter by destination address), joined to the group on `bindAddress`;
 * - a port socket on `bindAddress` and the gossip port (`reuseAddr`), receiving unicast beacons of nodes that list this
 *   one among their seeds;
 * - a send socket on `bindAddress` and a free port, from which everything is sent: its endpoint is unique, so
 *   replies and unicast beacons reach exactly this node.
 * A node bound to every interface (0.0.0.0) binds its group socket to 0.0.0.0, which receives group and unicast
 * traffic alike, and needs no port socket. Without a group (unicast seeds only) one socket on the gossip port does
 * everything; nodes sharing a host then need a port each.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import { UnavailableError } from '../errors/index.ts';
import { DEFAULT_BROADCAST_ADDRESS } from './constants.ts';
import type { GroupMode } from './discovery-config.ts';
import { formatEndpoint } from './endpoint.ts';

export interface TransportInit {
  readonly bindAddress: string;
  readonly port: number;
  readonly groupMode: GroupMode;
  readonly group: string;
  readonly ttl: number;
}

export type DatagramHandler = (data: Buffer, from: string) => void;

const ANY_ADDRESS = '0.0.0.0';

export class GossipTransport {
  private readonly logger: Logger;
  private readonly init: TransportInit;
  private readonly onDatagram: DatagramHandler;
  private sockets: Socket[] = [];
  private sendSocket: Socket | undefined;

  constructor(components: { logger: Logger }, init: TransportInit, onDatagram: DatagramHandler) {
    this.logger = components.logger;
    this.init = init;
    this.onDatagram = onDatagram;
  }

  /** Binds every socket; on failure closes those already bound and throws an UnavailableError. */
  async open(): Promise<void> {
    const { bindAddress, port, groupMode, group, ttl } = this.init;
    try {
      if (groupMode === 'none') {
        this.sendSocket = await this.bind('unicast', bindAddress, port, false);
        return;
      }
      const wildcard = bindAddress === ANY_ADDRESS;
      const groupBind = wildcard || group === DEFAULT_BROADCAST_ADDRESS ? ANY_ADDRESS : group;
      const groupSocket = await this.bind('group', groupBind, port, true);
      if (groupMode === 'multicast') {
        groupSocket.addMembership(group, wildcard ? undefined : bindAddress);
      }
      if (!wildcard && groupBind !== ANY_ADDRESS) await this.bind('port', bindAddress, port, true);
      const send = await this.bind('send', bindAddress, 0, false);
      if (groupMode === 'multicast') {
        if (!wildcard) send.setMulticastInterface(bindAddress);
        send.setMulticastTTL(ttl);
        // Other nodes on this host receive our group packets only through loopback.
        send.setMulticastLoopback(true);
      } else {
        send.setBroadcast(true);
      }
      this.sendSocket = send;
    } catch (err) {
      await this.close();
      const code = (err as NodeJS.ErrnoException).code;
      throw new UnavailableError(
        `gossip cannot use ${bindAddress}:${port}${groupMode === 'none' ? '' : ` with ${groupMode} group ${group}`}` +
          `: ${code ?? (err as Error).message}`,
        { bindAddress, port, group, code },
        { cause: err },
      );
    }
  }

  /** `ip:port` this node sends from (and receives replies on). */
  get endpoint(): string {
    const address = this.sendSocket?.address();
    return address === undefined ? '' : formatEndpoint(address.address, address.port);
  }

  get isOpen(): boolean {
    return this.sendSocket !== undefined;
  }

  /** Sends to one endpoint; resolves with the error instead of throwing. */
  send(data: Buffer, host: string, port: number): Promise<Error | undefined> {
    const socket = this.sendSocket;
    if (socket === undefined) return Promise.resolve(new Error('gossip transport is closed'));
    return new Promise((resolve) => {
      try {
        socket.send(data, port, host, (err) => resolve(err ?? undefined));
      } catch (err) {
        resolve(err as Error);
      }
    });
  }

  sendToGroup(data: Buffer): Promise<Error | undefined> {
    return this.send(data, this.init.group, this.init.port);
  }

  /** Closes every socket; safe to call more than once. */
  async close(): Promise<void> {
    const sockets = this.sockets;
    this.sockets = [];
    this.sendSocket = undefined;
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            try {
              socket.close(() => resolve());
            } catch {
              resolve();
            }
          }),
      ),
    );
  }

  private bind(role: string, address: string, port: number, reuseAddr: boolean): Promise<Socket> {
    const socket = createSocket({ type: 'udp4', reuseAddr });
    this.sockets.push(socket);
    return new Promise((resolve, reject) => {
      const onBindError = (err: Error): void => reject(err);
      socket.once('error', onBindError);
      socket.bind({ address, port }, () => {
        socket.off('error', onBindError);
        socket.on('error', (err) => this.logger.warn({ err, socket: role }, 'gossip socket error'));
        socket.on('message', (data, rinfo) => this.onDatagram(data, formatEndpoint(rinfo.address, rinfo.port)));
        resolve(socket);
      });
    });
  }
}
