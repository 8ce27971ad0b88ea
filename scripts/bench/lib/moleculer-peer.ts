/**
 * The peer the relay benchmark compares with: two Moleculer brokers (TCP transporter, JSON serializer, both on
 * 127.0.0.1), each in its own process. The server broker's action runs the same store call as a gater worker does
 * (a GatewayWorker over a SQLite store with synchronous=FULL); the client broker drives it with the same closed loop
 * as the other phases and prints what it measured.
 *
 * Moleculer is not a dependency of gater: the benchmark installs it into a cache folder and passes its path here.
 * Its TCP transporter listens on every interface and announces the host name; both are pinned to 127.0.0.1 here
 * (listen patched, addresses overridden), and UDP discovery is off, so no packet leaves loopback.
 *
 *   node moleculer-peer.ts server <moleculerDir> <nodePort> <peerPort> <dataDir> [FULL|NORMAL]
 *   node moleculer-peer.ts client <moleculerDir> <nodePort> <peerPort>
 * Both print `{"ready":true}`; the client then reads one JSON command per line on stdin,
 * `{"op":"setup"|"streamVersion"|"append","seconds":n,"inFlight":n}`, and answers each with one JSON line
 * (a LoadResult for a measurement).
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Server } from 'node:net';
import { createInterface } from 'node:readline';
import { SqliteEventStore } from '../../../src/store/sqlite/index.ts';
import { SubscriptionHub } from '../../../src/store/subscriptions/index.ts';
import { GatewayWorker } from '../../../src/worker/gateway-worker.ts';
import type { StoreCall } from '../../../src/worker/protocol.ts';
import { closedLoop } from './load.ts';
import { VERSION_STREAMS, benchCall, setupCall, type BenchOp } from './relay-calls.ts';

export const MOLECULER_STORE = 'moleculer';

const [role, moleculerDir, nodePortText, peerPortText, dataDir, synchronousText] = process.argv.slice(2);
if ((role !== 'server' && role !== 'client') || moleculerDir === undefined || peerPortText === undefined) {
  console.error('usage: moleculer-peer.ts server|client <moleculerDir> <nodePort> <peerPort> [dataDir]');
  process.exit(2);
}
const nodePort = Number(nodePortText);
const peerPort = Number(peerPortText);

// Every server this process opens listens on loopback only (Moleculer's TCP reader passes no host).
const listen = Server.prototype.listen;
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  const [first] = args;
  if (typeof first === 'object' && first !== null && !('host' in first) && !('path' in first)) {
    args[0] = { ...first, host: '127.0.0.1' };
  }
  return (listen as (...a: unknown[]) => Server).apply(this, args);
} as typeof Server.prototype.listen;

const require = createRequire(`${moleculerDir}/`);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ServiceBroker, Transporters } = require('moleculer') as {
  ServiceBroker: new (options: Record<string, unknown>) => Broker;
  Transporters: { TCP: new (options: Record<string, unknown>) => object };
};
interface Broker {
  start(): Promise<void>;
  stop(): Promise<void>;
  createService(schema: Record<string, unknown>): void;
  waitForServices(name: string, timeoutMs: number): Promise<void>;
  call(action: string, params: unknown): Promise<unknown>;
}

class LoopbackTcp extends Transporters.TCP {
  getNodeAddress(): string {
    return '127.0.0.1';
  }
}

const otherId = role === 'server' ? 'client' : 'server';
const broker = new ServiceBroker({
  nodeID: role,
  logger: false,
  transporter: new LoopbackTcp({
    udpDiscovery: false,
    port: nodePort,
    urls: [`127.0.0.1:${peerPort}/${otherId}`],
  }),
});

let close = async (): Promise<void> => {};
if (role === 'server') {
  const store = new SqliteEventStore({}, { storeId: MOLECULER_STORE, dataDir: dataDir!, synchronous: synchronousText === 'NORMAL' ? 'NORMAL' : 'FULL' });
  await store.open();
  const hub = new SubscriptionHub({ store });
  const worker = new GatewayWorker({ store, hub }, { workerId: `${MOLECULER_STORE}#0` });
  broker.createService({
    name: 'store',
    actions: { call: (ctx: { params: StoreCall }) => worker.call(ctx.params) },
  });
  close = async () => {
    await hub.close();
    await store.close();
  };
}
await broker.start();
if (role === 'client') await broker.waitForServices('store', 15_000);
console.log(JSON.stringify({ ready: true }));

if (role === 'client') {
  for await (const line of createInterface({ input: process.stdin })) {
    const command = JSON.parse(line) as { op: BenchOp | 'setup'; seconds: number; inFlight: number };
    if (command.op === 'setup') {
      for (let i = 0; i < VERSION_STREAMS; i++) await broker.call('store.call', setupCall(MOLECULER_STORE, i));
      console.log(JSON.stringify({ done: true }));
      continue;
    }
    const op = command.op;
    const result = await closedLoop((i) => broker.call('store.call', benchCall(MOLECULER_STORE, op, i)), command);
    console.log(JSON.stringify(result));
  }
} else {
  process.stdin.resume();
  await once(process.stdin, 'end');
}
await broker.stop();
await close();
process.exit(0);
