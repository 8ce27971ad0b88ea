/**
 * The self-forming test rig: N hosts, each a network namespace with its own address on a bridge of the rig's own
 * (see namespaces.ts), each running a real gater node (`bin/gater.js start`) that finds the others by gossip on the
 * bridge. Everything the rig makes is recorded in a state file under its directory (see state.ts) and named with a
 * prefix of its own, so any later command, in this process or another, can act on it, and `down` removes it all.
 * Every process is started inside a rig namespace and killed by its PID, after checking that the PID still runs in
 * that namespace.
 *
 *   const rig = await Rig.up({ dir }, { hosts: 5, gateways: 2, mode: 'multicast' });
 *   await rig.kill(1); await rig.start(1); await rig.partition(2); await rig.heal(2); await rig.loss(3, 20);
 *   await rig.http(4).json('/v1/cluster');
 *   await Rig.down({ dir });
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInteractive } from './commands.ts';
import { formationGaps, type ClusterView } from './formation.ts';
import { HostHttp } from './host-http.ts';
import {
  bridgeNamespace,
  createBridge,
  createHost,
  deleteNamespace,
  hostNamespace,
  listNamespaces,
  lossDropped,
  namespacePids,
  setBridgePort,
  setLoss,
} from './namespaces.ts';
import { isRigProcess, killInNamespace, launcherPids, sleep, spawnInNamespace, waitGone } from './processes.ts';
import { loadState, prefixFor, removeState, saveState, STATE_VERSION, type HostState, type RigState } from './state.ts';
import {
  nodeEnvironment,
  planHost,
  planHosts,
  RIG_CLUSTER_NAME,
  RIG_HTTP_PORT,
  type GossipMode,
  type HostPlan,
  type HostRole,
} from './topology.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const GATER_BIN = join(PROJECT_ROOT, 'bin', 'gater.js');
const PROXY_SCRIPT = fileURLToPath(new URL('./ns-proxy.ts', import.meta.url));
const PROJECT_BIN_DIR = join(PROJECT_ROOT, 'node_modules', '.bin');

/** Where the rig keeps its state unless told otherwise (`--dir`, `$GATER_RIG_DIR`). */
export const DEFAULT_RIG_DIR = join(tmpdir(), 'gater-rig');
/** How long a started node may take to answer `/health/ready`. */
export const READY_TIMEOUT_MS = 60_000;
/** How long `up` waits for the cluster to form. */
export const FORMATION_TIMEOUT_MS = 60_000;
/** Between two polls of the nodes while waiting. */
export const POLL_INTERVAL_MS = 200;
/** How long a node may take to stop on SIGTERM before it is killed. */
export const STOP_GRACE_MS = 10_000;
/** Deadline of one status query to a node. */
export const STATUS_QUERY_TIMEOUT_MS = 2_000;
/** A Unix socket path longer than this does not fit `sockaddr_un`. */
export const MAX_SOCKET_PATH_BYTES = 107;
/** The level the rig's nodes log at unless the environment says otherwise: node joins, deaths and suspicions. */
export const RIG_LOG_LEVEL = 'info';

export interface RigInit {
  /** The state directory: state file, node data and logs, proxy sockets. */
  dir: string;
  /** Progress lines, for a command-line user. @default none */
  progress?: (line: string) => void;
}

export interface RigUpOptions {
  /** Hosts in all, 1–200. */
  hosts: number;
  /** The last this many hosts are pure gateway nodes (no store). @default 0 */
  gateways?: number;
  /** @default 'broadcast', as in the seed and docker-compose.yaml */
  mode?: GossipMode;
  /** Environment of every node over the rig's own, e.g. a short `GATER_GOSSIP_INTERVAL_MS`. @default {} */
  env?: Record<string, string>;
  /** @default 'gater' */
  clusterName?: string;
  /** @default a random secret of this rig */
  secret?: string;
  /** Wait until the cluster has formed. @default true */
  wait?: boolean;
  /** Bound of the whole `up`, nodes' start and formation included, in milliseconds. @default FORMATION_TIMEOUT_MS */
  timeoutMs?: number;
  /** Records this process as the rig's owner, so that a later sweep can tell a rig whose owner died. */
  ownerPid?: number;
  /** Leave what was made when `up` fails, for a post-mortem (`down` still removes it). @default false */
  keepOnFailure?: boolean;
  /** Loss on every host from the start, before any node runs (see `loss`). @default none */
  loss?: { percent: number; udpOnly?: boolean };
}

export interface AddHostOptions {
  /** @default 'store' */
  role?: HostRole;
  /** A secret of its own: an intruder. @default the rig's */
  secret?: string;
  /** Environment of this node only. @default {} */
  env?: Record<string, string>;
}

/** One host as `status` reports it. */
export interface HostStatus {
  readonly host: HostState;
  readonly running: boolean;
  /** The node's view of the cluster; undefined when it did not answer. */
  readonly view: ClusterView | undefined;
  /** Packets the loss rule dropped so far. */
  readonly lossDropped: number | undefined;
}

export interface DownReport {
  readonly namespaces: number;
  readonly processes: number;
}

export class Rig {
  readonly dir: string;
  private readonly state: RigState;
  private readonly progress: (line: string) => void;
  /** Processes this Rig object spawned, so a wait can see them exit (others are checked through /proc). */
  private readonly children = new Map<number, ChildProcess>();

  private constructor(init: RigInit, state: RigState) {
    this.dir = resolve(init.dir);
    this.state = state;
    this.progress = init.progress ?? (() => {});
  }

  /** The rig kept in `init.dir`, or undefined when none is up there. */
  static open(init: RigInit): Rig | undefined {
    const state = loadState(resolve(init.dir));
    return state === undefined ? undefined : new Rig(init, state);
  }

  /** Builds the network, starts every node and (unless told not to) waits for the cluster to form. */
  static async up(init: RigInit, options: RigUpOptions): Promise<Rig> {
    const dir = resolve(init.dir);
    if (loadState(dir) !== undefined) throw new Error(`a rig is already up in ${dir}: run \`rig down\` first`);
    const plan = planHosts(options.hosts, options.gateways ?? 0);
    const prefix = prefixFor(dir);
    // Leftovers of a rig that crashed before it could record anything carry the same prefix.
    await Rig.sweep(prefix);
    const state: RigState = {
      version: STATE_VERSION,
      dir,
      prefix,
      bridgeNamespace: bridgeNamespace(prefix),
      clusterName: options.clusterName ?? RIG_CLUSTER_NAME,
      secret: options.secret ?? randomBytes(24).toString('base64url'),
      mode: options.mode ?? 'broadcast',
      env: { ...options.env },
      createdAt: new Date().toISOString(),
      ...(options.ownerPid === undefined ? {} : { ownerPid: options.ownerPid }),
      hosts: [],
    };
    const deadline = Date.now() + (options.timeoutMs ?? FORMATION_TIMEOUT_MS);
    // Recorded before anything exists, so that `down` after a crash of this very call finds what it left.
    saveState(state);
    const rig = new Rig(init, state);
    try {
      rig.writeGaterShim();
      await createBridge(state.bridgeNamespace);
      for (const host of plan) await rig.createHost(host, {});
      const loss = options.loss;
      if (loss !== undefined) for (const host of plan) await rig.loss(host.index, loss.percent, loss.udpOnly ?? false);
      rig.progress(`network ready: ${plan.length} namespaces on bridge ${state.bridgeNamespace}; starting the nodes`);
      await Promise.all(rig.state.hosts.map((host) => rig.launch(host, deadline)));
      if (options.wait ?? true) await rig.waitFormed(Math.max(1, deadline - Date.now()));
      return rig;
    } catch (err) {
      const diagnosis = rig.diagnose();
      if (!(options.keepOnFailure ?? false)) await Rig.down(init);
      throw new Error(`${(err as Error).message}${diagnosis === '' ? '' : `\n${diagnosis}`}`, { cause: err });
    }
  }

  /**
   * Removes everything the rig kept in `init.dir` made: its processes (killed by PID, each checked to run in a rig
   * namespace), its namespaces with their links, its files. Works from the directory alone, so also after a crash.
   */
  static async down(init: RigInit): Promise<DownReport> {
    const dir = resolve(init.dir);
    let state: RigState | undefined;
    try {
      state = loadState(dir);
    } catch {
      state = undefined;
    }
    let processes = 0;
    for (const host of state?.hosts ?? []) {
      for (const pid of [host.pid, host.proxyPid]) {
        if (pid !== undefined && (await killInNamespace(pid, host.namespace))) processes++;
      }
    }
    const swept = await Rig.sweep(prefixFor(dir));
    for (const made of ['hosts', 'bin']) rmSync(join(dir, made), { recursive: true, force: true });
    removeState(dir);
    try {
      rmdirSync(dir);
    } catch {
      // Not empty: someone else's files, or the directory was never made.
    }
    return { namespaces: swept.namespaces, processes: processes + swept.processes };
  }

  /** Kills every process inside the namespaces named `<prefix>-…` and deletes those namespaces. */
  static async sweep(prefix: string): Promise<DownReport> {
    const namespaces = (await listNamespaces()).filter((name) => name.startsWith(`${prefix}-`));
    let processes = 0;
    // Launchers first: once in, they are among the namespace's own processes; before, nothing else finds them.
    for (const { pid, namespace } of launcherPids(prefix)) if (await killInNamespace(pid, namespace)) processes++;
    for (const namespace of namespaces) {
      for (const pid of await namespacePids(namespace)) if (await killInNamespace(pid, namespace)) processes++;
    }
    for (const namespace of namespaces) await deleteNamespace(namespace);
    return { namespaces: namespaces.length, processes };
  }

  get mode(): GossipMode {
    return this.state.mode;
  }

  get secret(): string {
    return this.state.secret;
  }

  get clusterName(): string {
    return this.state.clusterName;
  }

  get bridgeNamespace(): string {
    return this.state.bridgeNamespace;
  }

  get hosts(): readonly HostState[] {
    return this.state.hosts;
  }

  /** Host I (1-based); throws naming the valid range. */
  host(index: number): HostState {
    const host = this.state.hosts.find((h) => h.index === index);
    if (host === undefined) {
      throw new RangeError(`no host ${index} in this rig (hosts: ${this.state.hosts.map((h) => h.index).join(', ')})`);
    }
    return host;
  }

  /** HTTP to host I's node, through its proxy. */
  http(index: number): HostHttp {
    return new HostHttp(this.host(index).socket);
  }

  /** Whether host I's node process runs. */
  running(index: number): boolean {
    const host = this.host(index);
    return host.pid !== undefined && this.alive(host.pid, host.namespace);
  }

  /** Adds a host to the rig and starts its node, without waiting for it to join (an intruder never does). */
  async add(options: AddHostOptions = {}): Promise<HostState> {
    const index = Math.max(0, ...this.state.hosts.map((h) => h.index)) + 1;
    const host = await this.createHost(planHost(index, options.role ?? 'store'), options);
    await this.launch(host, Date.now() + READY_TIMEOUT_MS);
    return host;
  }

  /** Starts host I's node again (same data, same identity, a new incarnation) and waits until it is ready. */
  async start(index: number): Promise<void> {
    const host = this.host(index);
    if (this.running(index)) throw new Error(`${host.name} already runs (PID ${host.pid})`);
    await this.launch(host, Date.now() + READY_TIMEOUT_MS);
  }

  /**
   * Signals host I's node by PID (SIGKILL unless told otherwise) and waits until it is gone; SIGSTOP and SIGCONT
   * pause and resume it instead (a node frozen in place).
   */
  async kill(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const host = this.host(index);
    const pid = host.pid;
    if (pid !== undefined && this.alive(pid, host.namespace)) {
      await killInNamespace(pid, host.namespace, signal);
      if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
      if (!(await waitGone(pid, host.namespace, STOP_GRACE_MS))) {
        throw new Error(`${host.name} (PID ${pid}) still runs ${STOP_GRACE_MS} ms after ${signal}`);
      }
    }
    host.pid = undefined;
    this.save();
  }

  /** Stops host I's node with SIGTERM (a clean leave), and with SIGKILL if it takes longer than STOP_GRACE_MS. */
  async stop(index: number): Promise<void> {
    const host = this.host(index);
    if (host.pid !== undefined && this.alive(host.pid, host.namespace)) {
      process.kill(host.pid, 'SIGTERM');
      if (!(await waitGone(host.pid, host.namespace, STOP_GRACE_MS))) await killInNamespace(host.pid, host.namespace);
    }
    host.pid = undefined;
    this.save();
  }

  /** Cuts host I off the bridge (its port goes down); its node keeps running, alone. */
  async partition(index: number): Promise<void> {
    await setBridgePort(this.state.bridgeNamespace, index, false);
    this.host(index).partitioned = true;
    this.save();
  }

  async heal(index: number): Promise<void> {
    await setBridgePort(this.state.bridgeNamespace, index, true);
    this.host(index).partitioned = false;
    this.save();
  }

  /** Drops `percent` % of what host I receives, at random (only UDP, which is gossip, with `udpOnly`); 0 stops it. */
  async loss(index: number, percent: number, udpOnly = false): Promise<void> {
    const host = this.host(index);
    await setLoss(host.namespace, percent, udpOnly);
    host.lossPercent = percent;
    host.lossUdpOnly = udpOnly;
    this.save();
  }

  /**
   * Runs a command inside host I's namespace with the caller's terminal; resolves with its exit code. `gater` and
   * the project's `node` come first on its PATH, so `gater status` asks the host's own node.
   */
  exec(index: number, argv: readonly string[]): Promise<number> {
    const host = this.host(index);
    const env = { ...process.env, PATH: `${join(this.dir, 'bin')}:${PROJECT_BIN_DIR}:${process.env['PATH'] ?? ''}` };
    return runInteractive('ip', ['netns', 'exec', host.namespace, ...argv], env);
  }

  /** Every host: whether its node runs, its view of the cluster, what its loss rule dropped. */
  async status(): Promise<HostStatus[]> {
    return Promise.all(
      this.state.hosts.map(async (host) => {
        const running = host.pid !== undefined && this.alive(host.pid, host.namespace);
        let view: ClusterView | undefined;
        if (running) view = await this.view(host.index, STATUS_QUERY_TIMEOUT_MS);
        return { host, running, view, lossDropped: await lossDropped(host.namespace) };
      }),
    );
  }

  /** Host I's `/v1/cluster`, or undefined when it does not answer in time. */
  async view(index: number, timeoutMs = STATUS_QUERY_TIMEOUT_MS): Promise<ClusterView | undefined> {
    try {
      const res = await this.http(index).json<ClusterView>('/v1/cluster', { timeoutMs });
      return res.status === 200 ? res.body : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The hosts that should form one cluster now: running, not partitioned, holding the rig's secret (an intruder
   * does not count).
   */
  members(): HostState[] {
    return this.state.hosts.filter((h) => h.secret === undefined && !h.partitioned && h.pid !== undefined && this.alive(h.pid, h.namespace));
  }

  /**
   * Waits until every member sees every other member alive with a mesh connection, and every member's stores in its
   * registry (see formation.ts); throws with what is still missing after `timeoutMs`.
   */
  async waitFormed(timeoutMs = FORMATION_TIMEOUT_MS, among: readonly HostState[] = this.members()): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let gaps: string[] = [];
    for (;;) {
      const views = await Promise.all(among.map((h) => this.view(h.index)));
      gaps = formationGaps(among, views);
      if (gaps.length === 0) return;
      if (Date.now() > deadline) break;
      await sleep(POLL_INTERVAL_MS);
    }
    const shown = gaps.slice(0, 8).join('; ') + (gaps.length > 8 ? `; and ${gaps.length - 8} more` : '');
    throw new Error(`the cluster did not form within ${timeoutMs} ms: ${shown}`);
  }

  /** The last lines of host I's node log. */
  logTail(index: number, lines = 20): string {
    const file = this.host(index).logFile;
    if (!existsSync(file)) return '';
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** Warnings and errors of every node's log, a few lines each: what to show when something went wrong. */
  diagnose(linesPerHost = 5): string {
    const parts: string[] = [];
    for (const host of this.state.hosts) {
      if (!existsSync(host.logFile)) continue;
      const lines = readFileSync(host.logFile, 'utf8').split('\n').filter((l) => !/"level":"(info|debug|trace)"/.test(l) && l.trim() !== '');
      if (lines.length > 0) parts.push(`${host.name} (${host.logFile}):\n  ${lines.slice(-linesPerHost).join('\n  ')}`);
    }
    return parts.join('\n');
  }

  /** `<dir>/bin/gater`: the project's CLI on the project's Node, for `exec`. */
  private writeGaterShim(): void {
    mkdirSync(join(this.dir, 'bin'), { recursive: true });
    const shim = `#!/bin/sh\nexec '${process.execPath}' '${GATER_BIN}' "$@"\n`;
    writeFileSync(join(this.dir, 'bin', 'gater'), shim, { mode: 0o755 });
  }

  private async createHost(plan: HostPlan, options: AddHostOptions): Promise<HostState> {
    const home = join(this.state.dir, 'hosts', plan.name);
    const socket = join(home, 'http.sock');
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`the rig directory ${this.state.dir} is too long for a Unix socket path; choose a shorter --dir`);
    }
    mkdirSync(join(home, 'data'), { recursive: true });
    const host: HostState = {
      ...plan,
      namespace: hostNamespace(this.state.prefix, plan.index),
      dataDir: join(home, 'data'),
      logFile: join(home, 'node.log'),
      socket,
      ...(options.secret === undefined ? {} : { secret: options.secret }),
      env: { ...options.env },
      partitioned: false,
      lossPercent: 0,
      lossUdpOnly: false,
    };
    // Recorded first: a namespace half made is still found by `down`.
    this.state.hosts.push(host);
    this.save();
    await createHost(this.state.bridgeNamespace, host.namespace, plan.index, plan.address);
    return host;
  }

  /** Starts the host's proxy (if it does not run) and its node, and waits until the node is ready. */
  private async launch(host: HostState, deadline: number): Promise<void> {
    if (host.proxyPid === undefined || !this.alive(host.proxyPid, host.namespace)) {
      rmSync(host.socket, { force: true });
      host.proxyPid = this.spawnIn(host, [process.execPath, PROXY_SCRIPT, host.socket, String(RIG_HTTP_PORT)], process.env, join(host.logFile, '..', 'proxy.log'));
    }
    const env: NodeJS.ProcessEnv = {
      PATH: `${PROJECT_BIN_DIR}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
      HOME: process.env['HOME'] ?? '/root',
      LOG_LEVEL: RIG_LOG_LEVEL,
      ...nodeEnvironment(host, {
        clusterName: this.state.clusterName,
        secret: host.secret ?? this.state.secret,
        mode: this.state.mode,
        dataDir: host.dataDir,
        extra: { ...this.state.env, ...host.env },
      }),
    };
    host.pid = this.spawnIn(host, [process.execPath, GATER_BIN, 'start'], env, host.logFile);
    this.save();
    await this.waitReady(host, deadline);
  }

  private spawnIn(host: HostState, argv: readonly string[], env: NodeJS.ProcessEnv, logFile: string): number {
    const child = spawnInNamespace(host.namespace, argv, { env, logFile, cwd: PROJECT_ROOT });
    const pid = child.pid!;
    this.children.set(pid, child);
    child.once('exit', () => this.children.delete(pid));
    return pid;
  }

  private async waitReady(host: HostState, deadline: number): Promise<void> {
    const pid = host.pid!;
    for (;;) {
      const exited = this.children.has(pid) ? false : !this.alive(pid, host.namespace);
      if (exited) throw new Error(`${host.name}'s node exited while starting:\n${this.logTail(host.index, 10)}`);
      try {
        const res = await this.http(host.index).json('/health/ready', { timeoutMs: 2_000 });
        if (res.status === 200) return;
      } catch {
        // The proxy is not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`${host.name}'s node was not ready in time:\n${this.logTail(host.index, 10)}`);
      await sleep(POLL_INTERVAL_MS);
    }
  }

  private alive(pid: number, namespace: string): boolean {
    return isRigProcess(pid, namespace);
  }

  private save(): void {
    saveState(this.state);
  }
}
