/**
 * A real gater node for tests: real SQLite stores in a fresh temp dir, the real gateway and workers, and its HTTP
 * server on 127.0.0.1 at a free port. Everything is removed by `close()`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { GaterApi } from '../../src/gateway/gater-api.ts';
import { GaterNode, type NodeSettings } from '../../src/node/gater-node.ts';

export interface TestApi {
  api: GaterApi;
  /** Base URL of the node's HTTP API. */
  url: string;
  dataDir: string;
  node: GaterNode;
  close(): Promise<void>;
}

/** Settings of an in-process test node on loopback, in a cluster of its own. */
export function testNodeSettings(dataDir: string, options: { stores?: string[]; settings?: Partial<NodeSettings> } = {}): NodeSettings {
  return {
      nodeName: 'test',
      dataDir,
      stores: options.stores ?? ['default'],
      storeBackend: 'sqlite',
      gatewayPoolSize: 1,
      sqliteSynchronous: 'FULL',
      httpHost: '127.0.0.1',
      httpPort: 0,
      callTimeoutMs: 5_000,
      // A cluster of its own (a unique name on a random port), so concurrent tests never meet each other.
      clusterName: `test-${process.pid}-${Math.random().toString(36).slice(2)}`,
      clusterSecret: undefined,
      clusterSecretPrevious: [],
      gossipPort: 46_000 + Math.floor(Math.random() * 3_000),
      gossipAddr: '239.255.43.21',
      gossipIf: '127.0.0.1',
      broadcastOnly: false,
      gossipMulticast: true,
      seeds: [],
      gossipIntervalMs: 1_000,
      meshPort: 0,
      meshHost: '127.0.0.1',
      ...options.settings,
  };
}

export async function createTestApi(options: { stores?: string[]; settings?: Partial<NodeSettings> } = {}): Promise<TestApi> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gater-test-'));
  const node = new GaterNode(testNodeSettings(dataDir, options), pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }));
  await node.start();
  return {
    api: node.api,
    url: node.httpUrl,
    dataDir,
    node,
    async close() {
      await node.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
