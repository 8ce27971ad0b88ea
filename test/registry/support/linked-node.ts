/**
 * A node's cluster side in this test process, without stores: the real ClusterLink (UDP discovery on 127.0.0.1, the
 * libp2p mesh, registry replication over it) around a WorkerRegistry the test fills by hand, so that it can announce
 * workers of any backend. What a node composes in src/node/gater-node.ts, minus the stores, the gateway and HTTP.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { pino, type Logger } from 'pino';
import { ClusterLink, type ClusterSettings } from '../../../src/node/cluster-link.ts';
import { WorkerRegistry } from '../../../src/registry/index.ts';
import type { StoreBackendName } from '../../../src/store/event-store.ts';
import { LocalWorkers } from '../../../src/worker/local-workers.ts';
import type { ClusterIdentity } from '../../support/gater-process.ts';

export interface LinkedNode {
  readonly name: string;
  readonly nodeId: string;
  readonly registry: WorkerRegistry;
  readonly link: ClusterLink;
  /** Announces a worker of this node for `store`. */
  host(store: string, backend: StoreBackendName): void;
  stop(): Promise<void>;
}

export async function startLinkedNode(
  identity: ClusterIdentity,
  name: string,
  options: { gossipIntervalMs?: number; logger?: Logger } = {},
): Promise<LinkedNode> {
  const privateKey = await generateKeyPair('Ed25519');
  const nodeId = peerIdFromPrivateKey(privateKey).toString();
  const logger = (options.logger ?? pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' })).child({ node: name });
  const incarnation = Date.now();
  const registry = new WorkerRegistry({ logger }, { nodeId, incarnation });
  const settings: ClusterSettings = {
    clusterName: identity.name,
    clusterSecret: identity.secret,
    clusterSecretPrevious: [],
    gossipPort: identity.gossipPort,
    gossipAddr: identity.group,
    gossipIf: '127.0.0.1',
    broadcastOnly: false,
    gossipMulticast: true,
    seeds: [],
    gossipIntervalMs: options.gossipIntervalMs ?? 100,
    meshPort: 0,
    meshHost: '127.0.0.1',
    nodeName: name,
  };
  const link = new ClusterLink({ registry, localWorkers: new LocalWorkers(), logger }, { settings, privateKey, incarnation, stores: [] });
  await link.start();
  return {
    name,
    nodeId,
    registry,
    link,
    host(store, backend) {
      registry.registerLocal({ store, workerId: `${store}@${name}#0`, addrs: link.mesh.addrs(), backend, startedAt: new Date().toISOString() });
    },
    stop: () => link.stop(),
  };
}
