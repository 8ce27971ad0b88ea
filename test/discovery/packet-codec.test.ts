import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_DATAGRAM_BYTES, MAX_STORES } from '../../src/discovery/constants.ts';
import { Keyring } from '../../src/discovery/keyring.ts';
import { MAX_PAYLOAD_BYTES, PacketCodec, type OpenResult } from '../../src/discovery/packet-codec.ts';
import {
  HEADER_BYTES,
  MESSAGE_KIND,
  OFFSET_KEY_ID,
  OFFSET_NONCE,
  OVERHEAD_BYTES,
} from '../../src/discovery/wire-format.ts';
import { expectedForFlip, expectedForTruncation, flipBit } from './support/forgery.ts';
import { samplePayload, validPayload } from './support/payloads.ts';

const SECRET = 'packet-codec-secret-0123456789';
const CLUSTER = 'test-cluster';
const codec = new PacketCodec(CLUSTER, new Keyring(CLUSTER, { primary: SECRET }));

function reason(result: OpenResult): string {
  return result.ok ? 'ok' : result.reason;
}

describe('packet codec', () => {
  it('seals and opens every valid payload, within one datagram', () => {
    fc.assert(
      fc.property(validPayload, fc.constantFrom(...Object.values(MESSAGE_KIND)), (payload, kind) => {
        const p = { ...payload, clusterName: CLUSTER };
        const sealed = codec.seal(kind, p);
        assert.ok(sealed.datagram.length <= MAX_DATAGRAM_BYTES);
        const opened = codec.open(sealed.datagram);
        assert.ok(opened.ok, reason(opened));
        assert.equal(opened.kind, kind);
        assert.deepEqual(opened.payload, { ...sealed.payload });
      }),
      { numRuns: 300 },
    );
  });

  it('trims an announcement too large for one datagram and flags it', () => {
    const stores = Array.from({ length: MAX_STORES }, (_, i) => `a-rather-long-store-name-${i}`);
    const sealed = codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: CLUSTER, stores }));
    assert.ok(sealed.datagram.length <= MAX_DATAGRAM_BYTES);
    assert.ok(sealed.datagram.length > MAX_DATAGRAM_BYTES - 40, 'it fills the datagram rather than emptying it');
    assert.equal(sealed.payload.truncated, true);
    const opened = codec.open(sealed.datagram);
    assert.ok(opened.ok);
    assert.equal(opened.payload.truncated, true);
    assert.ok(opened.payload.stores.length > 10 && opened.payload.stores.length < MAX_STORES);
    assert.equal(MAX_PAYLOAD_BYTES, MAX_DATAGRAM_BYTES - OVERHEAD_BYTES);
  });

  it('never sends the secret or the payload in clear', () => {
    const { datagram } = codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: CLUSTER }));
    for (const clear of [SECRET, 'node-a', 'alpha', 'default', CLUSTER]) {
      assert.equal(datagram.includes(Buffer.from(clear)), false, `'${clear}' is not in the datagram`);
    }
    const again = codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: CLUSTER })).datagram;
    const nonce = (d: Buffer): Buffer => d.subarray(OFFSET_NONCE, HEADER_BYTES);
    assert.equal(nonce(again).equals(nonce(datagram)), false, 'every packet has its own nonce');
  });

  it('drops every single bit flip, for the reason its position implies', () => {
    const { datagram } = codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: CLUSTER }));
    for (let offset = 0; offset < datagram.length; offset += 1) {
      for (let bit = 0; bit < 8; bit += 1) {
        const opened = codec.open(flipBit(datagram, offset, bit));
        assert.equal(reason(opened), expectedForFlip(datagram, offset, bit), `byte ${offset} bit ${bit}`);
      }
    }
  });

  it('drops truncations, oversized datagrams, other clusters and other secrets', () => {
    const { datagram } = codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: CLUSTER }));
    for (let length = 0; length < datagram.length; length += 1) {
      // Too short to hold a header, a tag and one byte; past that the header is intact and the tag is not.
      assert.equal(reason(codec.open(datagram.subarray(0, length))), expectedForTruncation(length), `length ${length}`);
    }
    assert.equal(reason(codec.open(Buffer.alloc(MAX_DATAGRAM_BYTES + 1))), 'oversized');
    const other = new PacketCodec('other', new Keyring('other', { primary: SECRET }));
    const sealedBy = (c: PacketCodec, clusterName = CLUSTER): Buffer =>
      c.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName })).datagram;
    assert.equal(reason(codec.open(sealedBy(other, 'other'))), 'other_cluster');
    const stranger = new PacketCodec(CLUSTER, new Keyring(CLUSTER, { primary: 'another-secret-0123456789' }));
    assert.equal(reason(codec.open(sealedBy(stranger))), 'bad_auth');
    const unsecured = new PacketCodec(CLUSTER, new Keyring(CLUSTER));
    assert.equal(reason(codec.open(sealedBy(unsecured))), 'bad_auth');
    // Same key, another cluster name in the payload: cannot be produced by a real node, but is still refused.
    const liar = codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: 'liar' }));
    assert.equal(reason(codec.open(liar.datagram)), 'other_cluster');
  });

  it('opens random bytes without throwing, never accepting them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1_600 }), fc.boolean(), (bytes, withHeader) => {
        const datagram = Buffer.from(bytes);
        if (withHeader && datagram.length >= OFFSET_KEY_ID) {
          // A plausible header, so that the random part reaches the key lookup and authentication.
          const valid = codec.seal(MESSAGE_KIND.beacon, samplePayload({ clusterName: CLUSTER })).datagram;
          valid.copy(datagram, 0, 0, OFFSET_KEY_ID + 4);
        }
        const opened = codec.open(datagram);
        assert.equal(opened.ok, false);
      }),
      { numRuns: 2_000 },
    );
  });
});
