/**
 * The transport cipher with imported session keys is the same ChaCha20-Poly1305 as the library's: byte-identical
 * output on both sides of the size threshold, interoperable in both directions, and it refuses tampered messages.
 */
import { asCrypto, nodeCrypto } from '@chainsafe/libp2p-noise/crypto';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { NATIVE_CIPHER_MIN_BYTES, SessionKeys, createNoiseCrypto } from '../../src/mesh/noise-crypto.ts';

const noiseCrypto = createNoiseCrypto();

const SIZES = [0, 1, 14, NATIVE_CIPHER_MIN_BYTES - 1, NATIVE_CIPHER_MIN_BYTES, 6_000, 65_519];

function bytesOf(x: Uint8Array | { subarray(): Uint8Array }): Buffer {
  return Buffer.from(x instanceof Uint8Array ? x : x.subarray());
}

describe('noise transport cipher', () => {
  const k = randomBytes(32);
  const ad = new Uint8Array(0);

  for (const size of SIZES) {
    it(`matches the library byte for byte and round-trips at ${size} bytes`, () => {
      const nonce = randomBytes(12);
      const plaintext = randomBytes(size);
      const sealed = bytesOf(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k));
      assert.deepEqual(sealed, bytesOf(nodeCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)));
      assert.deepEqual(sealed, bytesOf(asCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)));
      assert.deepEqual(bytesOf(noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k)), plaintext);
      assert.deepEqual(bytesOf(nodeCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k)), plaintext);
    });
  }

  it('accepts a message in chunks (a yamux header and its payload)', () => {
    const nonce = randomBytes(12);
    const header = randomBytes(12);
    const payload = randomBytes(5_000);
    const chunks = { byteLength: 5_012, subarray: () => Buffer.concat([header, payload]), [Symbol.iterator]: function* () { yield header; yield payload; } };
    const sealed = bytesOf(noiseCrypto.chaCha20Poly1305Encrypt(chunks as never, nonce, ad, k));
    assert.deepEqual(sealed, bytesOf(nodeCrypto.chaCha20Poly1305Encrypt(Buffer.concat([header, payload]), nonce, ad, k)));
  });

  it('refuses a tampered message or the wrong key, on both sides of the threshold', () => {
    for (const size of [100, 6_000]) {
      const nonce = randomBytes(12);
      const sealed = bytesOf(noiseCrypto.chaCha20Poly1305Encrypt(randomBytes(size), nonce, ad, k));
      const tampered = Buffer.from(sealed);
      tampered[0]! ^= 1;
      assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(tampered, nonce, ad, k));
      assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, randomBytes(32)));
    }
  });

  it('imports a key once, and again when the same array holds new bytes', () => {
    const keys = new SessionKeys();
    const key = randomBytes(32);
    const first = keys.keyFor(key);
    assert.equal(keys.keyFor(key), first);
    key[0]! ^= 0xff;
    const second = keys.keyFor(key);
    assert.notEqual(second, first);
    assert.deepEqual(second.export(), key);
  });
});
