/**
 * A subscriber for chaos tests on the rig: a persistent `by_stream` subscription read as server-sent events through
 * whichever host answers, acknowledged as it goes, reconnecting through the next host whenever its stream breaks
 * (a node restarting under it). It checks what it sees as it sees it: every event new to it must be the stream's
 * next version (no gap, nothing out of order); an event seen again (delivery is at least once) must be the same event
 * at the same version.
 */
import type { IncomingMessage } from 'node:http';
import type { Rig } from '../../scripts/rig-lib/rig.ts';

export interface StreamSubscriberInit {
  readonly store: string;
  readonly name: string;
  readonly stream: string;
  /** Hosts to read through, most preferred first; the next is tried whenever a stream breaks. */
  readonly hosts: () => readonly number[];
}

interface DeliveredEvent {
  eventId: string;
  streamId: string;
  version: number;
  position: number;
}

/** Pause before reconnecting, so that a loop against a restarting node does not spin. */
const RECONNECT_PAUSE_MS = 200;
/** Acknowledgements are sent in batches, at least this often. */
const ACK_INTERVAL_MS = 100;
const REQUEST_TIMEOUT_MS = 5_000;

export class StreamSubscriber {
  /** What went wrong, in words; empty while everything holds. */
  readonly problems: string[] = [];
  /** The highest version seen in order so far; -1 before the first event. */
  lastVersion = -1;
  deliveries = 0;
  redeliveries = 0;
  /** Streams opened after the first. */
  reconnects = 0;
  private readonly rig: Rig;
  private readonly init: StreamSubscriberInit;
  /** Event id of each version seen, by version. */
  private readonly seen: string[] = [];
  private pendingAcks: number[] = [];
  private running = false;
  private abort = new AbortController();
  private loops: Promise<void>[] = [];
  private attempt = 0;
  private ackAttempt = 0;

  constructor(rig: Rig, init: StreamSubscriberInit) {
    this.rig = rig;
    this.init = init;
  }

  /** Saves the subscription (from version 0) through the first host that takes it, then starts reading. */
  async start(timeoutMs = 20_000): Promise<void> {
    const { store, name, stream } = this.init;
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; ; i++) {
      const hosts = this.init.hosts();
      const host = hosts[i % hosts.length]!;
      const res = await this.rig.http(host).json(`/v1/stores/${store}/subscriptions/${name}`, {
        method: 'PUT',
        json: { type: 'by_stream', selector: stream, startFrom: 0 },
        timeoutMs: REQUEST_TIMEOUT_MS,
      }).catch(() => undefined);
      if (res?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`could not save subscription ${name}: ${JSON.stringify(res?.body)}`);
      await sleep(RECONNECT_PAUSE_MS);
    }
    this.running = true;
    this.loops = [this.readLoop(), this.ackLoop()];
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.all(this.loops);
  }

  /** Resolves once every version up to `version` has been seen, or rejects after `timeoutMs`. */
  async caughtUp(version: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.lastVersion < version) {
      if (Date.now() > deadline) throw new Error(`the subscriber saw up to version ${this.lastVersion}, not ${version}, within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  private nextHost(): number {
    const hosts = this.init.hosts();
    return hosts[this.attempt++ % hosts.length]!;
  }

  private async readLoop(): Promise<void> {
    const { store, name } = this.init;
    let opened = 0;
    while (this.running) {
      const host = this.nextHost();
      try {
        const res = await this.rig.http(host).open(`/v1/stores/${store}/subscriptions/${name}/events`, {
          signal: this.abort.signal,
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
        if (res.statusCode === 200) {
          if (opened++ > 0) this.reconnects++;
          await this.consume(res);
        } else {
          res.resume();
        }
      } catch {
        // The host is down or restarting, or the stream broke: the next one is tried.
      }
      if (this.running) await sleep(RECONNECT_PAUSE_MS);
    }
  }

  private async consume(res: IncomingMessage): Promise<void> {
    let buffer = '';
    for await (const chunk of res) {
      buffer += (chunk as Buffer).toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = new Map<string, string>();
        for (const line of message.split('\n')) {
          const colon = line.indexOf(':');
          if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
        }
        if (fields.get('event') === 'event') this.deliver((JSON.parse(fields.get('data')!) as { event: DeliveredEvent }).event);
        if (fields.get('event') === 'error') return;
      }
    }
  }

  private deliver(event: DeliveredEvent): void {
    this.deliveries++;
    if (event.streamId !== this.init.stream) this.problems.push(`an event of stream ${event.streamId} was delivered`);
    if (event.version <= this.lastVersion) {
      this.redeliveries++;
      if (this.seen[event.version] !== event.eventId) {
        this.problems.push(`version ${event.version} was delivered as ${this.seen[event.version]}, then as ${event.eventId}`);
      }
    } else if (event.version === this.lastVersion + 1) {
      this.lastVersion = event.version;
      this.seen[event.version] = event.eventId;
    } else {
      this.problems.push(`version ${event.version} was delivered after version ${this.lastVersion}: a gap`);
    }
    this.pendingAcks.push(event.position);
  }

  private async ackLoop(): Promise<void> {
    const { store, name } = this.init;
    while (this.running) {
      await sleep(ACK_INTERVAL_MS);
      if (this.pendingAcks.length === 0) continue;
      const positions = this.pendingAcks;
      this.pendingAcks = [];
      const hosts = this.init.hosts();
      const host = hosts[this.ackAttempt++ % hosts.length]!;
      const res = await this.rig.http(host).post(`/v1/stores/${store}/subscriptions/${name}/ack`, { positions }, { timeoutMs: REQUEST_TIMEOUT_MS }).catch(() => undefined);
      // Unacknowledged events hold the subscription's in-flight window until their ack timeout: try the next host.
      if (res?.status !== 200) this.pendingAcks.unshift(...positions);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
