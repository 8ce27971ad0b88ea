/**
 * Who this node is, kept in its data directory: a node id that survives restarts, and an incarnation that grows on
 * every start, so peers can tell a restarted node from its previous life and replace what they knew of it.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface NodeIdentity {
  nodeId: string;
  incarnation: number;
}

const IDENTITY_FILE = 'node.json';

export async function loadNodeIdentity(dataDir: string, now: () => number = Date.now): Promise<NodeIdentity> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, IDENTITY_FILE);
  let previous: Partial<NodeIdentity> = {};
  try {
    previous = JSON.parse(await readFile(path, 'utf8')) as Partial<NodeIdentity>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const nodeId = typeof previous.nodeId === 'string' && previous.nodeId.length > 0 ? previous.nodeId : randomUUID();
  // Wall-clock based so that even a lost identity file cannot make a restarted node look older than its past self.
  const incarnation = Math.max(now(), (typeof previous.incarnation === 'number' ? previous.incarnation : 0) + 1);
  const identity = { nodeId, incarnation };
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(identity) + '\n');
  await rename(tmp, path);
  return identity;
}
