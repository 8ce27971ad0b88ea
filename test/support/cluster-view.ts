/**
 * What a node says about the cluster, read over HTTP the way an operator would: `/v1/cluster`, `/v1/stores`,
 * `/metrics`, and the node's own JSON log lines. Typed loosely on purpose: these are the public shapes under test.
 */
import type { GaterProcess } from './gater-process.ts';

export interface PeerView {
  nodeId: string;
  name: string;
  addrs: string[];
  state: 'alive' | 'suspect' | 'dead';
  lastSeen: string;
  incarnation: number;
  stores: string[];
  endpoint: string;
  /** Whether the node has an open mesh connection to this peer. */
  connected: boolean;
}

export interface RegistryEntryView {
  store: string;
  workerId: string;
  nodeId: string;
  addrs: string[];
  backend: string;
  startedAt: string;
}

export interface ClusterView {
  self: { nodeId: string; name: string; incarnation: number; stores: string[]; state: string };
  peers: PeerView[];
  registry: {
    entries: RegistryEntryView[];
    conflicts: { store: string; nodeIds: string[] }[];
    /** One stamp per node record held: the registry's digest. */
    nodes: { nodeId: string; incarnation: number; version: number }[];
  };
  mesh: { addrs: string[]; connections: number };
}

export async function clusterView(node: GaterProcess): Promise<ClusterView> {
  const { status, body } = await node.json<ClusterView>('/v1/cluster');
  if (status !== 200) throw new Error(`${node.name}: /v1/cluster answered ${status}`);
  return body;
}

/** Node ids of the peers `node` holds in `state`, sorted. */
export async function peersIn(node: GaterProcess, state: PeerView['state']): Promise<string[]> {
  const view = await clusterView(node);
  return view.peers.filter((p) => p.state === state).map((p) => p.nodeId).sort();
}

/** The registry digest as a comparable string: every node record's stamp, sorted by node id. */
export function digestKey(view: ClusterView): string {
  return JSON.stringify([...view.registry.nodes].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)));
}

/** The registry's entries as a comparable string, sorted by worker id. */
export function entriesKey(view: ClusterView): string {
  // Field by field: JSON key order is not part of the contract (a node's own entries list their fields differently).
  const fields = (e: RegistryEntryView): unknown[] => [e.workerId, e.store, e.nodeId, e.backend, e.startedAt, e.addrs];
  return JSON.stringify([...view.registry.entries].sort((a, b) => (a.workerId < b.workerId ? -1 : 1)).map(fields));
}

/**
 * The value of one sample in the node's `/metrics`, e.g. `metric(node, 'gater_gossip_dropped_total', { reason:
 * 'bad_auth' })`; 0 when the series is absent (a counter that never moved).
 */
export async function metric(node: GaterProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const labelText = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    const have = labelText === '' ? [] : labelText.split(',');
    if (wanted.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** The node's JSON log lines (its LOG_LEVEL decides which), parsed; lines that are not JSON are skipped. */
export function logLines(node: GaterProcess): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of node.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the output buffer's trimming
    }
  }
  return out;
}
