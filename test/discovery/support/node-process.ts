/**
 * Runs test/fixtures/discovery-node.ts as a child process and follows what it prints. Every process started here is
 * registered, so that `killAll()` in an `after` hook can end them all by PID.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DiscoveryStats, PeerInfo } from '../../../src/discovery/index.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/discovery-node.ts', import.meta.url));

export interface FixtureLine {
  readonly type: 'ready' | 'peers' | 'stats' | 'stopped';
  readonly at: number;
  /** On `ready`: when the node called start(), Unix ms. */
  readonly startedAt?: number;
  readonly event?: 'peer:up' | 'peer:down' | 'peer:updated';
  readonly peer?: PeerInfo;
  readonly peers?: PeerInfo[];
  readonly self?: PeerInfo;
  readonly stats?: DiscoveryStats;
}

const started = new Set<NodeProcess>();

export class NodeProcess {
  readonly name: string;
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: FixtureLine[] = [];
  readonly exited: Promise<number | null>;
  /** When the process was spawned, Unix ms. */
  readonly spawnedAt: number;
  private stderr = '';
  private listeners = new Set<() => void>();
  private exitCode: number | null | undefined;

  constructor(name: string, config: Record<string, unknown>, env: Record<string, string> = {}) {
    this.name = name;
    this.spawnedAt = performance.timeOrigin + performance.now();
    this.child = spawn(process.execPath, [FIXTURE, JSON.stringify(config)], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    started.add(this);
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(JSON.parse(line) as FixtureLine);
      for (const listener of this.listeners) listener();
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4_000);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code) => {
        this.exitCode = code;
        started.delete(this);
        for (const listener of this.listeners) listener();
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The peer table as last printed. */
  peers(): PeerInfo[] {
    for (let i = this.lines.length - 1; i >= 0; i -= 1) {
      const peers = this.lines[i]?.peers;
      if (peers !== undefined) return peers;
    }
    return [];
  }

  alivePeers(): string[] {
    return this.peers()
      .filter((p) => p.state === 'alive')
      .map((p) => p.nodeId)
      .sort();
  }

  /** Resolves with the first value `check` returns that is not undefined or false, re-checked on every line. */
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = (): void => {
        const value = check();
        if (value !== undefined && value !== false) {
          cleanup();
          resolve(value);
        } else if (!this.running) {
          cleanup();
          reject(new Error(`${this.name} exited (${this.exitCode}) waiting for ${what}; stderr: ${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${this.stderr}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(attempt);
      };
      this.listeners.add(attempt);
      attempt();
    });
  }

  ready(): Promise<FixtureLine> {
    return this.waitFor('ready', () => this.lines.find((l) => l.type === 'ready'));
  }

  command(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  async stats(): Promise<DiscoveryStats> {
    const count = this.lines.length;
    this.command('stats');
    const line = await this.waitFor('stats', () => this.lines.slice(count).find((l) => l.type === 'stats'));
    return line.stats as DiscoveryStats;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) process.kill(this.pid, signal);
  }
}

/** Ends every fixture process still running, by PID, and waits for them to exit. */
export async function killAll(): Promise<void> {
  const all = [...started];
  for (const proc of all) proc.kill('SIGKILL');
  await Promise.all(all.map((proc) => proc.exited));
}
