/**
 * Payloads for the discovery tests: a plain valid one, and a fast-check arbitrary of every valid payload.
 */
import fc from 'fast-check';
import type { GossipPayload } from '../../../src/discovery/payload-codec.ts';

export function samplePayload(overrides: Partial<GossipPayload> = {}): GossipPayload {
  return {
    clusterName: 'test-cluster',
    nodeId: 'node-a',
    nodeName: 'alpha',
    incarnation: 1_700_000_000_000,
    sequence: 1,
    timestamp: Date.now(),
    truncated: false,
    toGroup: true,
    addrs: ['/ip4/127.0.0.1/tcp/45893/p2p/12D3KooWabc'],
    roles: ['store', 'gateway'],
    stores: ['default', 'orders'],
    hints: [],
    ...overrides,
  };
}

const identifier = (max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9_-]{1,${max}}$`));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
const endpoint = fc.tuple(ipv4, fc.integer({ min: 1, max: 65_535 })).map(([ip, port]) => `${ip}:${port}`);
const safeInteger = (min: number) => fc.integer({ min, max: Number.MAX_SAFE_INTEGER });

/** Every payload the protocol can carry, limits included (which may not all fit one datagram together). */
export const validPayload: fc.Arbitrary<GossipPayload> = fc.record({
  clusterName: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
  nodeId: fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
  nodeName: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/),
  incarnation: safeInteger(0),
  sequence: safeInteger(1),
  timestamp: safeInteger(0),
  truncated: fc.boolean(),
  toGroup: fc.boolean(),
  addrs: fc.array(fc.stringMatching(/^\/[\x21-\x7e]{1,254}$/), { maxLength: 16 }),
  roles: fc.array(identifier(64), { maxLength: 16 }),
  stores: fc.array(identifier(64), { maxLength: 40 }),
  hints: fc.array(endpoint, { maxLength: 32 }),
});
