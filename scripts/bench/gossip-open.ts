/**
 * Gossip packet opening: what one received datagram costs the node, by what it turns out to be. A flood of packets
 * under a valid key id but with a forged tag (or replays of genuine ones) is paid for per packet, before anything can
 * be dropped, so this is the CPU a flooder can make a node spend. Measured side by side, interleaved rounds, best of
 * each:
 * - unknown key id (the cheapest drop: the baseline),
 * - a genuine packet,
 * - a forged tag under a valid key id,
 * - the forged tag again, decrypted as before the keyring kept imported keys (raw key bytes to every decipher).
 *
 *   scripts/bench/gossip-open [--packets 20000] [--rounds 5] [--out .bench/gossip-open.json]
 */
import { createDecipheriv } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Keyring } from '../../src/discovery/keyring.ts';
import { PacketCodec } from '../../src/discovery/packet-codec.ts';
import { MESSAGE_KIND } from '../../src/discovery/wire-format.ts';
import { samplePayload } from '../../test/discovery/support/payloads.ts';
import { describeMachine, machineNotes } from './lib/machine.ts';
import { writeReport } from './lib/output.ts';

const { values: args } = parseArgs({
  options: {
    packets: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    out: { type: 'string', default: '.bench/gossip-open.json' },
  },
});
const PACKETS = Number(args.packets);
const ROUNDS = Number(args.rounds);
const CLUSTER = 'bench';
const SECRET = 'bench-secret-0123456789abcdef';

const keyring = new Keyring(CLUSTER, { primary: SECRET });
const codec = new PacketCodec(CLUSTER, keyring);
const genuine = codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: CLUSTER, nodeId: 'bench-node' })).datagram;
const forged = Buffer.from(genuine);
forged[forged.length - 1]! ^= 0xff;
const unknownKey = new PacketCodec(CLUSTER, new Keyring(CLUSTER, { primary: 'another-secret-0123456789abcd' })).seal(
  MESSAGE_KIND.beacon,
  samplePayload({ clusterName: CLUSTER, nodeId: 'bench-node' }),
).datagram;

/** The decrypt of a packet as it was done before: the raw key imported by every decipher. */
function openWithRawKey(datagram: Buffer): boolean {
  const header = datagram.subarray(0, 24);
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyring.primary.key, header.subarray(12, 24), { authTagLength: 16 });
    decipher.setAAD(header);
    decipher.setAuthTag(datagram.subarray(datagram.length - 16));
    Buffer.concat([decipher.update(datagram.subarray(24, datagram.length - 16)), decipher.final()]);
    return true;
  } catch {
    return false;
  }
}

const cases = {
  unknownKeyId: () => codec.open(unknownKey).ok,
  genuine: () => codec.open(genuine).ok,
  forgedTag: () => codec.open(forged).ok,
  forgedTagRawKey: () => openWithRawKey(forged),
} as const;
type CaseName = keyof typeof cases;

// The header layout the raw-key path assumes, checked against the codec: both must refuse the forgery alike.
if (cases.genuine() !== true || cases.forgedTag() !== false || openWithRawKey(forged) !== false || openWithRawKey(genuine) !== true) {
  throw new Error('the benchmark cases do not behave as described');
}

const best = new Map<CaseName, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const name of Object.keys(cases) as CaseName[]) {
    const open = cases[name];
    const started = performance.now();
    for (let i = 0; i < PACKETS; i++) open();
    const usPerPacket = ((performance.now() - started) * 1000) / PACKETS;
    best.set(name, Math.min(best.get(name) ?? Infinity, usPerPacket));
  }
}

const baseline = best.get('unknownKeyId')!;
const machine = machineNotes();
console.log(`gossip-open: ${PACKETS} packets x ${ROUNDS} rounds, best round; ${describeMachine(machine)}`);
const figures: Record<string, { usPerPacket: number; packetsPerSecond: number; vsBaseline: number }> = {};
for (const [name, us] of best) {
  figures[name] = { usPerPacket: Math.round(us * 100) / 100, packetsPerSecond: Math.round(1e6 / us), vsBaseline: Math.round((us / baseline) * 10) / 10 };
  console.log(`  ${name.padEnd(16)} ${us.toFixed(2).padStart(7)} µs/packet  ${String(Math.round(1e6 / us)).padStart(9)} /s  ${(us / baseline).toFixed(1)}x the baseline`);
}
const speedup = best.get('forgedTagRawKey')! / best.get('forgedTag')!;
console.log(`  a forged tag now costs ${speedup.toFixed(1)}x less than with raw key bytes per decipher`);
writeReport(args.out, { bench: 'gossip-open', packets: PACKETS, rounds: ROUNDS, machine, figures, forgedTagSpeedup: Math.round(speedup * 10) / 10 });
