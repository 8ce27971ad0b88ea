/**
 * Renders `gater status`: this node with its readiness, its peers and the stores with their workers, from the bodies
 * of `GET /v1/cluster`, `GET /v1/stores` and `GET /health/ready` (DESIGN.md, "HTTP API"). Pure: the bodies and the
 * current time in, text out. The bodies come from another process, possibly another version, so every field is
 * treated as optional. What an operator must not miss is spelled out: a store in conflict (its calls are refused, though
 * its workers look healthy), a node that is not ready and why, a peer alive but not connected over the mesh.
 */
import { renderTable } from './table.ts';

export interface PeerView {
  nodeId?: string;
  name?: string;
  addrs?: unknown;
  state?: string;
  lastSeen?: unknown;
  incarnation?: unknown;
  /** Whether the node has an open mesh connection to this peer; calls to its workers need one. */
  connected?: unknown;
}

export interface ConflictView {
  store?: string;
  nodeIds?: unknown;
}

export interface ClusterBody {
  self?: Record<string, unknown>;
  peers?: PeerView[];
  registry?: { conflicts?: ConflictView[] } & Record<string, unknown>;
}

/** The body of `GET /health/ready` (200 when ready, 503 when not: both carry it). */
export interface ReadyBody {
  ready?: unknown;
  checks?: Record<string, { ok?: unknown; detail?: unknown }>;
}

/** What became of the readiness probe: its body, or why there is none (an older node, no answer). */
export type Readiness = { body: ReadyBody } | { unknown: string };

export interface WorkerView {
  nodeId?: string;
  workerId?: string;
  backend?: string;
}

export interface StoresBody {
  stores?: { store?: string; workers?: WorkerView[] }[];
}

/** Ids longer than this are shortened in tables (libp2p peer ids are 52 characters); `--json` has them whole. */
const SHORT_ID_CHARS = 16;

/** Fields of `self` shown first, in this order; any others follow as they come. */
const SELF_FIELDS = ['name', 'nodeId', 'state', 'incarnation', 'startedAt', 'httpUrl', 'stores'];

/** The status of a store whose id several nodes announce as different stores: the gateway refuses its calls. */
export const CONFLICT_STATUS = 'CONFLICT - calls refused';

export function renderStatus(cluster: ClusterBody, stores: StoresBody, nowMs: number, readiness?: Readiness): string {
  const names = nodeNames(cluster);
  return [
    renderSelf(cluster.self ?? {}, nowMs, readiness),
    renderPeers(cluster.peers ?? [], nowMs),
    renderStores(stores, conflictedStores(cluster), names),
  ].join('\n');
}

function renderSelf(self: Record<string, unknown>, nowMs: number, readiness: Readiness | undefined): string {
  const keys = [...SELF_FIELDS.filter((k) => Object.hasOwn(self, k)), ...Object.keys(self).filter((k) => !SELF_FIELDS.includes(k))];
  const rows = keys
    .map((key) => [label(key), formatValue(key, self[key], nowMs)] as const)
    .filter(([, value]) => value !== '');
  if (readiness !== undefined) {
    // Next to the state, which says "running" even while the node refuses calls.
    const at = rows.findIndex(([l]) => l === 'state');
    rows.splice(at === -1 ? rows.length : at + 1, 0, ['ready', formatReadiness(readiness)]);
  }
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return 'This node\n' + rows.map(([l, v]) => `  ${l.padEnd(width)}  ${v}\n`).join('');
}

function renderPeers(peers: readonly PeerView[], nowMs: number): string {
  const title = `Peers (${peers.length})\n`;
  if (peers.length === 0) return `${title}  none seen\n`;
  const sorted = [...peers].sort((a, b) => (a.name ?? a.nodeId ?? '').localeCompare(b.name ?? b.nodeId ?? ''));
  const rows = sorted.map((p) => [
    p.name ?? '',
    shortId(p.nodeId ?? ''),
    p.state ?? '',
    typeof p.connected === 'boolean' ? (p.connected ? 'yes' : 'no') : '',
    formatTime(p.lastSeen, nowMs),
    formatValue('incarnation', p.incarnation, nowMs),
    formatValue('addrs', p.addrs, nowMs),
  ]);
  return title + renderTable(['NAME', 'NODE ID', 'STATE', 'CONNECTED', 'LAST SEEN', 'INCARNATION', 'ADDRS'], rows);
}

function renderStores(body: StoresBody, conflicted: ReadonlySet<string>, names: ReadonlyMap<string, string>): string {
  const listed = body.stores ?? [];
  // A store in conflict is shown even if the store list (read a moment apart) lacks it.
  const missing = [...conflicted].filter((store) => !listed.some((s) => s.store === store)).map((store) => ({ store, workers: [] }));
  const stores = [...listed, ...missing].sort((a, b) => (a.store ?? '').localeCompare(b.store ?? ''));
  const title = `Stores (${stores.length})\n`;
  if (stores.length === 0) return `${title}  none in the cluster\n`;
  const rows: string[][] = [];
  for (const { store = '', workers = [] } of stores) {
    const status = conflicted.has(store) ? CONFLICT_STATUS : workers.length === 0 ? 'no workers' : 'serving';
    if (workers.length === 0) rows.push([store, status]);
    workers.forEach((w, i) => {
      const node = w.nodeId === undefined ? '' : (names.get(w.nodeId) ?? shortId(w.nodeId));
      rows.push([i === 0 ? store : '', i === 0 ? status : '', w.workerId ?? '', node, w.backend ?? '']);
    });
  }
  return title + renderTable(['STORE', 'STATUS', 'WORKER', 'NODE', 'BACKEND'], rows);
}

function conflictedStores(cluster: ClusterBody): Set<string> {
  const conflicts = cluster.registry?.conflicts;
  return new Set((Array.isArray(conflicts) ? conflicts : []).flatMap((c) => (typeof c?.store === 'string' ? [c.store] : [])));
}

/** `yes`; `NO - registry (store conflict: alpha), store:beta`, naming each failed check; or `unknown (why)`. */
export function formatReadiness(readiness: Readiness): string {
  if ('unknown' in readiness) return `unknown (${readiness.unknown})`;
  const { ready, checks = {} } = readiness.body;
  if (ready === true) return 'yes';
  if (ready !== false) return 'unknown (the answer says neither ready nor not)';
  const failed = Object.entries(checks)
    .filter(([, check]) => check?.ok !== true)
    .map(([name, check]) => (check?.detail === undefined || check.detail === '' ? name : `${name} (${String(check.detail)})`));
  return failed.length === 0 ? 'NO' : `NO - ${failed.join(', ')}`;
}

/** Node id → name, from this node and its peers, so the store table can name the node of each worker. */
function nodeNames(cluster: ClusterBody): Map<string, string> {
  const names = new Map<string, string>();
  const self = cluster.self ?? {};
  if (typeof self['nodeId'] === 'string' && typeof self['name'] === 'string') names.set(self['nodeId'], self['name']);
  for (const p of cluster.peers ?? []) if (p.nodeId !== undefined && p.name !== undefined) names.set(p.nodeId, p.name);
  return names;
}

/** `nodeId` → `node id`, `httpUrl` → `http url`. */
function label(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

function formatValue(key: string, value: unknown, nowMs: number): string {
  if (value === undefined || value === null) return '';
  if (/(At|Seen)$/.test(key)) return formatTime(value, nowMs);
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map((v) => formatValue('', v, nowMs)).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A time (epoch milliseconds or ISO text) as how long ago it was, with the time itself when it is long ago. */
export function formatTime(value: unknown, nowMs: number): string {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) return value === undefined || value === null ? '' : String(value);
  const ago = formatAgo(nowMs - ms);
  return nowMs - ms >= 3_600_000 ? `${new Date(ms).toISOString()} (${ago})` : ago;
}

/** Clocks of two hosts differ a little: a time this far ahead of ours still reads as "just now". */
const CLOCK_SKEW_MS = 10_000;

export function formatAgo(elapsedMs: number): string {
  if (elapsedMs < -CLOCK_SKEW_MS) return 'ahead of this clock';
  if (elapsedMs < 0) return 'just now';
  if (elapsedMs < 10_000) return `${(elapsedMs / 1000).toFixed(1)}s ago`;
  if (elapsedMs < 120_000) return `${Math.round(elapsedMs / 1000)}s ago`;
  if (elapsedMs < 7_200_000) return `${Math.round(elapsedMs / 60_000)}m ago`;
  if (elapsedMs < 172_800_000) return `${Math.round(elapsedMs / 3_600_000)}h ago`;
  return `${Math.round(elapsedMs / 86_400_000)}d ago`;
}

export function shortId(id: string): string {
  return id.length <= SHORT_ID_CHARS ? id : `${id.slice(0, 8)}…${id.slice(-6)}`;
}
