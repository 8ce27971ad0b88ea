/**
 * A mesh node in a child process, for the gossipsub latency phase of the registry benchmark. It subscribes to one
 * topic and handles one stream protocol; every message carries its send time (wall-clock ms, float64 little-endian,
 * first 8 bytes), from which it computes the one-way latency on receipt. Both processes share the host's clock.
 *
 * Protocol with the parent: it prints `{"peerId","addrs"}` once started; when its stdin closes it prints
 * `{"gossip":[ms...],"stream":[ms...]}` and exits.
 *
 *   node scripts/bench/lib/mesh-peer.ts <topic> <protocol> <messageBytes> <clusterName> <secret>
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { once } from 'node:events';
import { Mesh } from '../../../src/mesh/index.ts';
import { wallNow } from './output.ts';

const [topic, protocol, bytesText, clusterName, secret] = process.argv.slice(2);
if (topic === undefined || protocol === undefined || bytesText === undefined || clusterName === undefined || secret === undefined) {
  console.error('usage: mesh-peer.ts <topic> <protocol> <messageBytes> <clusterName> <secret>');
  process.exit(2);
}
const messageBytes = Number(bytesText);

const gossip: number[] = [];
const stream: number[] = [];
const mesh = new Mesh(
  {},
  {
    privateKey: await generateKeyPair('Ed25519'),
    listenHost: '127.0.0.1',
    port: 0,
    clusterName,
    clusterSecrets: { primary: secret, previous: [] },
  },
);
mesh.subscribe(topic, (data) => gossip.push(wallNow() - sentAt(data, 0)));
await mesh.handle(protocol, (s) => {
  // Messages have a fixed size: split the byte stream on it.
  let rest = Buffer.alloc(0);
  s.addEventListener('message', (evt) => {
    const data = Buffer.concat([rest, evt.data.subarray()]);
    let offset = 0;
    for (; offset + messageBytes <= data.byteLength; offset += messageBytes) stream.push(wallNow() - sentAt(data, offset));
    rest = Buffer.from(data.subarray(offset));
  });
});
await mesh.start();
console.log(JSON.stringify({ peerId: mesh.peerId, addrs: mesh.addrs() }));
process.stdin.resume();
await once(process.stdin, 'end');
console.log(JSON.stringify({ gossip, stream }));
await mesh.stop();

function sentAt(data: Uint8Array, offset: number): number {
  return new DataView(data.buffer, data.byteOffset + offset, 8).getFloat64(0, true);
}
