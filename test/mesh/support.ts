/** Helpers for the mesh tests: meshes on 127.0.0.1 with free ports, and bounded waiting. */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { once } from 'node:events';
import { Mesh, type ClusterSecrets, type MeshInit } from '../../src/mesh/index.ts';

export const CLUSTER = 'mesh-test';
export const SECRET_OLD = 'old-secret-of-the-test-cluster';
export const SECRET_NEW = 'new-secret-of-the-test-cluster';

/** A mesh on 127.0.0.1, any port, fast redials; not started. */
export async function makeMesh(secrets: ClusterSecrets, init: Partial<MeshInit> = {}): Promise<Mesh> {
  return new Mesh(
    {},
    {
      privateKey: init.privateKey ?? (await generateKeyPair('Ed25519')),
      listenHost: '127.0.0.1',
      port: 0,
      clusterSecrets: secrets,
      clusterName: CLUSTER,
      redialInitialDelayMs: 20,
      redialMaxDelayMs: 200,
      dialTimeoutMs: 2_000,
      ...init,
    },
  );
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs` with `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Resolves with the next `event` of `mesh`; fails after `timeoutMs`. */
export async function nextEvent(
  mesh: Mesh,
  event: 'peer:connected' | 'peer:disconnected',
  timeoutMs = 10_000,
): Promise<string> {
  const [peerId] = (await once(mesh, event, { signal: AbortSignal.timeout(timeoutMs) })) as [string];
  return peerId;
}

/** Per-suite bound, so a hang fails the suite instead of stalling the run. */
export const SUITE_TIMEOUT_MS = 60_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Wants every pair connected, as discovery would tell each node of every other. */
export function connectAll(meshes: readonly Mesh[]): void {
  for (const a of meshes) for (const b of meshes) if (a !== b) a.connect(b.peerId, b.addrs());
}

export function isConnectedPair(a: Mesh, b: Mesh): boolean {
  return a.isConnected(b.peerId) && b.isConnected(a.peerId);
}

/** Orders meshes by peer id: the first one is the one that dials the others. */
export function byPeerId<T extends { peerId: string }>(items: readonly T[]): T[] {
  return [...items].sort((x, y) => (x.peerId < y.peerId ? -1 : x.peerId > y.peerId ? 1 : 0));
}
