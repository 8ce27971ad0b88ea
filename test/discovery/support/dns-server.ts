/**
 * A tiny authoritative DNS server on 127.0.0.1 for tests: answers A queries from a table the test changes at will
 * (NXDOMAIN for names it does not hold, an empty answer for other record types), over real UDP, in the wire format
 * of RFC 1035. Enough for `dns.Resolver#resolve4` pointed at it with `setServers`.
 */
import { createSocket, type Socket } from 'node:dgram';

const TYPE_A = 1;
const CLASS_IN = 1;
const RCODE_NXDOMAIN = 3;

export class TinyDnsServer {
  /** Name (lower case, no trailing dot) → IPv4 addresses. */
  readonly records = new Map<string, string[]>();
  /** Queries answered, by name. */
  readonly queries: string[] = [];
  private socket: Socket | undefined;
  port = 0;

  async start(): Promise<void> {
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.on('message', (query, from) => {
      const answer = this.answer(query);
      if (answer !== undefined) socket.send(answer, from.port, from.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    this.port = socket.address().port;
  }

  /** `127.0.0.1:port`, for `Resolver#setServers`. */
  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private answer(query: Buffer): Buffer | undefined {
    if (query.length < 12 || query.readUInt16BE(4) < 1) return undefined;
    // The first question: labels up to a zero byte, then type and class.
    const labels: string[] = [];
    let at = 12;
    while (at < query.length && query[at] !== 0) {
      const length = query[at]!;
      if (length > 63) return undefined;
      labels.push(query.subarray(at + 1, at + 1 + length).toString('latin1'));
      at += 1 + length;
    }
    const questionEnd = at + 5;
    if (questionEnd > query.length) return undefined;
    const type = query.readUInt16BE(at + 1);
    const name = labels.join('.').toLowerCase();
    this.queries.push(name);
    const addresses = this.records.get(name);
    const answers = type === TYPE_A && addresses !== undefined ? addresses : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    const recursionDesired = query[2]! & 0x01;
    // QR, AA and the caller's RD; RA; NXDOMAIN when the name is unknown.
    header[2] = 0x84 | recursionDesired;
    header[3] = 0x80 | (addresses === undefined ? RCODE_NXDOMAIN : 0);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const records = answers.map((address) => {
      const record = Buffer.alloc(16);
      record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      record.writeUInt16BE(TYPE_A, 2);
      record.writeUInt16BE(CLASS_IN, 4);
      record.writeUInt32BE(0, 6); // TTL 0: nothing may cache it
      record.writeUInt16BE(4, 10);
      address.split('.').forEach((octet, i) => (record[12 + i] = Number(octet)));
      return record;
    });
    return Buffer.concat([header, query.subarray(12, questionEnd), ...records]);
  }
}
