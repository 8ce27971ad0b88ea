/** What every screen of the console works with. */
import type { GaterClient } from '../client/index.ts';
import type { GreenhouseEvents } from './greenhouse.ts';
import type { Producers } from './producers.ts';
import type { Terminal } from './terminal.ts';
import type { Watchers } from './watchers.ts';

export interface ConsoleContext {
  readonly client: GaterClient;
  readonly terminal: Terminal;
  /** The store the console works on (`--store`). */
  readonly store: string;
  readonly watchers: Watchers;
  readonly producers: Producers;
  readonly events: GreenhouseEvents;
}

/** How long the console waits for a call before it says the node does not answer. */
export const CONSOLE_CALL_DEADLINE_MS = 4_000;
