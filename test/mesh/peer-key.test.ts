/** The peer key persists in the data directory, so a restarted node keeps its peer id (its node id). */
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GaterError } from '../../src/errors/index.ts';
import { PEER_KEY_FILE, loadOrCreatePeerKey } from '../../src/mesh/index.ts';
import { SECRET_OLD, SUITE_TIMEOUT_MS, makeMesh, waitFor } from './support.ts';

describe('the peer key', { timeout: SUITE_TIMEOUT_MS }, () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'gater-mesh-key-'));
    dirs.push(dir);
    return dir;
  }

  it('is created once, owner-only, and read back unchanged', async () => {
    const dataDir = join(await tempDir(), 'nested', 'data');
    const first = await loadOrCreatePeerKey(dataDir);
    assert.equal(first.type, 'Ed25519');
    assert.equal((await stat(join(dataDir, PEER_KEY_FILE))).mode & 0o777, 0o600);
    const second = await loadOrCreatePeerKey(dataDir);
    assert.ok(first.equals(second));
    const elsewhere = await loadOrCreatePeerKey(await tempDir());
    assert.notEqual(peerIdFromPrivateKey(first).toString(), peerIdFromPrivateKey(elsewhere).toString());
  });

  it('gives a mesh restarted from the same data directory the same peer id, which its peers reconnect to', async () => {
    const dataDir = await tempDir();
    const secrets = { primary: SECRET_OLD, previous: [] };
    const peer = await makeMesh(secrets);
    const before = await makeMesh(secrets, { privateKey: await loadOrCreatePeerKey(dataDir) });
    await Promise.all([peer.start(), before.start()]);
    try {
      await peer.dial(before.peerId, before.addrs());
      await before.stop();
      const afterRestart = await makeMesh(secrets, { privateKey: await loadOrCreatePeerKey(dataDir) });
      assert.equal(afterRestart.peerId, before.peerId);
      await afterRestart.start();
      try {
        // Dialing the restarted node under its old peer id works: noise proves it is the same identity.
        await peer.dial(afterRestart.peerId, afterRestart.addrs());
        await waitFor('restarted node connected', () => afterRestart.isConnected(peer.peerId));
      } finally {
        await afterRestart.stop();
      }
    } finally {
      await Promise.all([peer.stop(), before.stop()]);
    }
  });

  it('refuses to replace a file that does not hold a key', async () => {
    const dataDir = await tempDir();
    await writeFile(join(dataDir, PEER_KEY_FILE), 'not a key');
    const isInternal = (err: unknown) => err instanceof GaterError && err.code === 'internal';
    await assert.rejects(loadOrCreatePeerKey(dataDir), isInternal);
  });

  it('gives processes racing to create it the same key', async () => {
    const dataDir = await tempDir();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreatePeerKey(dataDir)));
    for (const key of keys) assert.ok(key.equals(keys[0]!));
  });
});
