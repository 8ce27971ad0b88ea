/**
 * A steady, bounded workload for chaos tests on the rig: appends of one event each to one stream, one after the
 * other, each with an event id of its own so that a retry can never write twice. Every attempt is recorded (host,
 * status, error code, duration), so a test can tell what was acknowledged, what failed and how fast, and then check
 * the stream against it.
 */
import { randomUUID } from 'node:crypto';
import type { Rig } from '../../scripts/rig-lib/rig.ts';

export interface Attempt {
  readonly host: number;
  readonly startedAt: number;
  readonly durationMs: number;
  /** HTTP status; 0 when the proxy itself could not be reached. */
  readonly status: number;
  /** The error code of a failed attempt (`no_workers`, `rig_node_unreachable`, …). */
  readonly code: string | undefined;
}

export interface AppendOutcome {
  readonly seq: number;
  readonly eventId: string;
  /** The stream version acknowledged by the store; undefined when no attempt was acknowledged. */
  version: number | undefined;
  readonly attempts: Attempt[];
}

export interface AppendWorkloadInit {
  readonly store: string;
  readonly stream: string;
  /** Hosts to send through, most preferred first; asked before every append. An attempt that fails moves to the next. */
  readonly hosts: () => readonly number[];
  /** Time from the start of one append to the start of the next, in milliseconds. */
  readonly intervalMs: number;
  /** Appends at most: the load is bounded in count as well as in time. */
  readonly maxAppends: number;
  /** How long one append is retried (same event id, next host) before it is given up; 0: one attempt only. */
  readonly retryBudgetMs: number;
  /** Deadline of one HTTP attempt, in milliseconds. */
  readonly requestTimeoutMs: number;
}

/** Pause between two attempts of one append, so that a retry loop does not spin while a node restarts. */
const RETRY_PAUSE_MS = 100;

export class AppendWorkload {
  readonly outcomes: AppendOutcome[] = [];
  private readonly rig: Rig;
  private readonly init: AppendWorkloadInit;
  private running = false;
  private done: Promise<void> = Promise.resolve();

  constructor(rig: Rig, init: AppendWorkloadInit) {
    this.rig = rig;
    this.init = init;
  }

  start(): void {
    this.running = true;
    this.done = this.loop();
  }

  /** Stops after the append under way (its retries included). */
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  acknowledged(): AppendOutcome[] {
    return this.outcomes.filter((o) => o.version !== undefined);
  }

  /** Every attempt, of every append, that failed. */
  failures(): Attempt[] {
    return this.outcomes.flatMap((o) => o.attempts.filter((a) => a.status !== 200));
  }

  /** Resolves once `count` more appends have been acknowledged after the call, or rejects after `timeoutMs`. */
  async acknowledgedMore(count: number, timeoutMs: number): Promise<void> {
    const target = this.acknowledged().length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acknowledged().length < target) {
      if (Date.now() > deadline) {
        const last = this.failures().at(-1);
        throw new Error(`${count} more appends to ${this.init.store} were not acknowledged within ${timeoutMs} ms (last failure: ${JSON.stringify(last)})`);
      }
      if (!this.running) throw new Error('the workload stopped');
      await sleep(50);
    }
  }

  private async loop(): Promise<void> {
    const { intervalMs, maxAppends } = this.init;
    for (let seq = 0; this.running && seq < maxAppends; seq++) {
      const started = Date.now();
      await this.append(seq);
      await sleep(Math.max(0, intervalMs - (Date.now() - started)));
    }
    this.running = false;
  }

  private async append(seq: number): Promise<void> {
    const { store, stream, retryBudgetMs, requestTimeoutMs } = this.init;
    const outcome: AppendOutcome = { seq, eventId: randomUUID(), version: undefined, attempts: [] };
    this.outcomes.push(outcome);
    const body = { events: [{ eventId: outcome.eventId, eventType: 'chaos_tick:v1', data: { seq } }] };
    const giveUpAt = Date.now() + retryBudgetMs;
    for (let attempt = 0; ; attempt++) {
      const hosts = this.init.hosts();
      const host = hosts[attempt % Math.max(1, hosts.length)] ?? 1;
      const startedAt = Date.now();
      let status = 0;
      let code: string | undefined;
      try {
        const res = await this.rig.http(host).post<{ version?: number; error?: { code: string } }>(
          `/v1/stores/${store}/streams/${stream}/events`,
          body,
          { timeoutMs: requestTimeoutMs },
        );
        status = res.status;
        if (status === 200) outcome.version = res.body.version;
        else code = res.body?.error?.code ?? `http_${status}`;
      } catch (err) {
        code = (err as NodeJS.ErrnoException).code ?? (err as Error).name;
      }
      outcome.attempts.push({ host, startedAt, durationMs: Date.now() - startedAt, status, code });
      if (status === 200 || Date.now() >= giveUpAt || !this.running) return;
      await sleep(RETRY_PAUSE_MS);
    }
  }
}

export interface StreamEvent {
  eventId: string;
  version: number;
  position: number;
  data: { seq: number };
}

/** Every event of a stream, read in pages through host `host`. */
export async function readWholeStream(rig: Rig, host: number, store: string, stream: string): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for (;;) {
    const res = await rig.http(host).json<{ events: StreamEvent[] }>(
      `/v1/stores/${store}/streams/${stream}/events?from=${events.length}&count=1000`,
    );
    if (res.status !== 200) throw new Error(`reading ${store}/${stream} through host ${host}: ${res.status} ${JSON.stringify(res.body)}`);
    events.push(...res.body.events);
    if (res.body.events.length < 1000) return events;
  }
}

/**
 * What is wrong with a stream given the appends made to it: an acknowledged append missing or at another version
 * than acknowledged, an event id twice, versions not 0, 1, 2, … . Empty when nothing is.
 */
export function streamProblems(outcomes: readonly AppendOutcome[], events: readonly StreamEvent[]): string[] {
  const problems: string[] = [];
  const byId = new Map<string, StreamEvent[]>();
  events.forEach((e, i) => {
    if (e.version !== i) problems.push(`event ${i} has version ${e.version}`);
    byId.set(e.eventId, [...(byId.get(e.eventId) ?? []), e]);
  });
  for (const [id, copies] of byId) if (copies.length > 1) problems.push(`event ${id} is in the stream ${copies.length} times`);
  for (const o of outcomes) {
    if (o.version === undefined) continue;
    const found = byId.get(o.eventId);
    if (found === undefined) problems.push(`acknowledged append ${o.seq} (version ${o.version}) is lost`);
    else if (found[0]!.version !== o.version) problems.push(`append ${o.seq} was acknowledged at version ${o.version} but is at ${found[0]!.version}`);
  }
  const known = new Set(outcomes.map((o) => o.eventId));
  for (const e of events) if (!known.has(e.eventId)) problems.push(`event ${e.eventId} at version ${e.version} was never appended`);
  return problems;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
