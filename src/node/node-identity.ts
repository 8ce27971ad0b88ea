/**
 * Who this node is, kept in its data directory: its libp2p key (whose peer id is the node id, so it survives
 * restarts) and an incarnation that grows on every start, so peers can tell a restarted node from its previous life
 * and replace what they knew of it.
 */
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadOrCreatePeerKey } from '../mesh/index.ts';

export interface NodeIdentity {
  nodeId: string;
  incarnation: number;
  privateKey: PrivateKey;
}

const INCARNATION_FILE = 'node.json';

export async function loadNodeIdentity(dataDir: string, now: () => number = Date.now): Promise<NodeIdentity> {
  await mkdir(dataDir, { recursive: true });
  const privateKey = await loadOrCreatePeerKey(dataDir);
  const nodeId = peerIdFromPrivateKey(privateKey).toString();
  const path = join(dataDir, INCARNATION_FILE);
  let previous = 0;
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { incarnation?: unknown };
    if (typeof parsed.incarnation === 'number' && Number.isSafeInteger(parsed.incarnation)) previous = parsed.incarnation;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  // Wall-clock based, so that even a lost file cannot make a restarted node look older than its past self.
  const incarnation = Math.max(now(), previous + 1);
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify({ nodeId, incarnation }) + '\n');
  await rename(tmp, path);
  return { nodeId, incarnation, privateKey };
}
