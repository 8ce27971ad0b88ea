/**
 * The interactive console of the seed (ExESDB Gater's test console), against any node: a menu of 15 options for
 * observers, producers of greenhouse events, persistent subscriptions, stream data and the cluster's status. Every
 * option runs inside a guard: a dead node, a wrong URL or a bad entry prints a message in red and the menu comes
 * back. Exiting (option 15, Ctrl+C at the menu, or SIGINT/SIGTERM) stops every observer, producer and subscription.
 */
import pc from 'picocolors';
import type { GaterClient } from '../client/index.ts';
import { GaterError } from '../errors/index.ts';
import { CONSOLE_CALL_DEADLINE_MS, type ConsoleContext } from './context.ts';
import { appendManually, clusterStatus, viewStream } from './data-screens.ts';
import { failure, hint, success, warning } from './format.ts';
import { GreenhouseEvents } from './greenhouse.ts';
import {
  createPayloadObserver,
  createStreamObserver,
  createTypeObserver,
  listObservers,
  monitorWatcher,
  stopObserver,
} from './observer-screens.ts';
import { listProducers, startProducers, stopProducer } from './producer-screens.ts';
import { Producers } from './producers.ts';
import { createSubscription, listSubscriptions } from './subscription-screens.ts';
import type { Separator } from '@inquirer/prompts';
import { isPromptCancel, section, type Choice, type Terminal } from './terminal.ts';
import { Watchers } from './watchers.ts';

type Action = (ctx: ConsoleContext) => Promise<void> | void;

interface MenuEntry {
  readonly label: string;
  readonly section?: string;
  readonly action: Action | 'exit';
}

/** The seed's menu, in its order: the number typed is the position here. */
export const MENU: readonly MenuEntry[] = [
  { section: '📊 Observers', label: 'Create Observer by Stream', action: createStreamObserver },
  { label: 'Create Observer by Event Type', action: createTypeObserver },
  { label: 'Create Observer by Event Payload', action: createPayloadObserver },
  { label: 'List Active Observers', action: listObservers },
  { label: 'Monitor Specific Observer', action: monitorWatcher },
  { label: 'Stop Observer', action: stopObserver },
  { section: '🏭 Producers', label: 'Start Producers', action: startProducers },
  { label: 'Stop Producer', action: stopProducer },
  { label: 'List Active Producers', action: listProducers },
  { section: '📡 Subscriptions', label: 'Create Subscription', action: createSubscription },
  { label: 'List Subscriptions', action: listSubscriptions },
  { section: '📈 Data Management', label: 'View Stream Data', action: viewStream },
  { label: 'Append Events Manually', action: appendManually },
  { label: 'Get Cluster Status', action: clusterStatus },
  { section: '🚪 Exit', label: 'Exit Console', action: 'exit' },
];

export interface ConsoleAppComponents {
  client: GaterClient;
  terminal: Terminal;
}

export interface ConsoleAppInit {
  /** The store the console works on. @default 'default' */
  store?: string;
}

export class ConsoleApp {
  private readonly ctx: ConsoleContext;
  private stopping = false;

  constructor(components: ConsoleAppComponents, init: ConsoleAppInit = {}) {
    const events = new GreenhouseEvents();
    this.ctx = {
      client: components.client,
      terminal: components.terminal,
      store: init.store ?? 'default',
      watchers: new Watchers(),
      producers: new Producers({ api: components.client, events }),
      events,
    };
  }

  /** Runs the menu until the user exits or `stop()` is called; resolves once everything is stopped. */
  async run(): Promise<void> {
    const { terminal } = this.ctx;
    terminal.print(pc.magenta(pc.bold('========== gater Interactive Console ==========')));
    await this.greet();
    while (!this.stopping) {
      let index: number;
      try {
        terminal.print();
        terminal.print(this.summary());
        index = await terminal.choose('Choose an option (type its number):', this.menuChoices());
      } catch (err) {
        if (isPromptCancel(err)) break;
        throw err;
      }
      const entry = MENU[index]!;
      if (entry.action === 'exit') break;
      await this.guard(entry.action);
    }
    await this.shutdown();
  }

  /** Ends the console from outside (a stop signal): the prompt on screen is cancelled and everything stops. */
  stop(): void {
    this.stopping = true;
    this.ctx.terminal.cancel();
  }

  private async greet(): Promise<void> {
    const { client, terminal, store } = this.ctx;
    try {
      const [health, details] = await terminal.spin(
        `Connecting to ${client.url}`,
        Promise.all([client.health({ deadlineMs: CONSOLE_CALL_DEADLINE_MS }), client.getStore(store, { deadlineMs: CONSOLE_CALL_DEADLINE_MS })]),
      );
      terminal.print(success(`Connected to ${client.url}: store ${pc.bold(store)}, ${details.streamCount} streams, last position ${details.lastPosition}, ${details.workers.length} workers`));
      if (!health.ready) terminal.print(warning('the node says it is not ready: option 14 shows why'));
    } catch (err) {
      terminal.print(failure(describe(err)));
      terminal.print(hint(`The menu still works; options that need the node will say so. Check the URL (--url) and the store (--store ${store}).`));
    }
  }

  /** One line above the menu: the node, the store, and what runs (yellow when reconnecting). */
  private summary(): string {
    const { client, store, watchers, producers } = this.ctx;
    const part = (word: string, items: readonly { status: string }[]): string => {
      const running = items.filter((i) => i.status === 'running').length;
      const waiting = items.filter((i) => i.status === 'reconnecting' || i.status === 'failing').length;
      const failed = items.filter((i) => i.status === 'failed').length;
      const stopped = items.length - running - waiting - failed;
      const text = [`${items.length} ${word}${items.length === 1 ? '' : 's'}`];
      if (running > 0) text.push(pc.green(`${running} running`));
      if (waiting > 0) text.push(pc.yellow(`${waiting} ${word === 'producer' ? 'failing' : 'reconnecting'}`));
      if (failed > 0) text.push(pc.red(`${failed} failed`));
      if (stopped > 0) text.push(pc.red(`${stopped} stopped`));
      return text.join(' ');
    };
    return `${hint(`${client.url} · store ${store} ·`)} ${part('observer', watchers.list('observer'))} · ${part('producer', producers.list())} · ${part('subscription', watchers.list('subscription'))}`;
  }

  private menuChoices(): (Separator | Choice<number>)[] {
    const choices: (Separator | Choice<number>)[] = [];
    MENU.forEach((entry, i) => {
      if (entry.section !== undefined) choices.push(section(pc.magenta(entry.section)));
      choices.push({ name: entry.label, value: i });
    });
    return choices;
  }

  /** Runs one option; whatever it throws is shown, and the menu comes back. */
  private async guard(action: Action): Promise<void> {
    try {
      await action(this.ctx);
    } catch (err) {
      if (isPromptCancel(err)) {
        if (!this.stopping) this.ctx.terminal.print(hint('cancelled'));
        return;
      }
      this.ctx.terminal.print(failure(describe(err)));
    }
  }

  private async shutdown(): Promise<void> {
    const { terminal, watchers, producers, client } = this.ctx;
    const n = watchers.active().length + producers.running().length;
    await terminal.spin(`Stopping ${n} observers, producers and subscriptions`, Promise.all([watchers.stopAll(), producers.stopAll()]));
    client.close();
    terminal.print(success(`Stopped every observer, producer and subscription (${n} were running). Bye.`));
  }
}

/** An error in the words a console user needs. */
export function describe(err: unknown): string {
  if (err instanceof GaterError) {
    if (err.code === 'unavailable' && /cannot reach/.test(err.message)) return `${err.message}: is the node running?`;
    if (err.code === 'no_workers') return `${err.message}: is the store name right? Option 14 lists the stores`;
    return `${err.code}: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
