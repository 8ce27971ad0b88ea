/**
 * The node's libp2p identity key, kept in its data directory so the peer id (which is the node id) survives restarts.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { randomUUID } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GaterError } from '../errors/index.ts';

/** File name of the key under the data directory: the protobuf encoding libp2p uses (kubo's format too). */
export const PEER_KEY_FILE = 'peer.key';
/** Owner read/write only: whoever holds the key can impersonate the node. */
const PEER_KEY_FILE_MODE = 0o600;

/**
 * Reads `<dataDir>/peer.key`, or creates it with a new Ed25519 key when it does not exist. A file that exists but
 * does not hold a key is an error, never silently replaced: a new key would make the node a stranger to its cluster.
 */
export async function loadOrCreatePeerKey(dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, PEER_KEY_FILE);
  const existing = await readKey(path);
  if (existing !== undefined) return existing;
  const key = await generateKeyPair('Ed25519');
  await mkdir(dataDir, { recursive: true });
  // Written whole, then linked into place: a crash never leaves a truncated key, and when two processes race on one
  // data directory the link of the second fails and both end up with the first one's key.
  const tmp = `${path}.${randomUUID()}.tmp`;
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: PEER_KEY_FILE_MODE });
  await chmod(tmp, PEER_KEY_FILE_MODE);
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
  const stored = await readKey(path);
  if (stored === undefined) throw new GaterError('internal', `${path} vanished while it was being created`, { path });
  return stored;
}

async function readKey(path: string): Promise<PrivateKey | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return privateKeyFromProtobuf(bytes);
  } catch (err) {
    const message = `${path} does not hold a libp2p private key; move it away to create a new identity`;
    throw new GaterError('internal', message, { path }, { cause: err });
  }
}
