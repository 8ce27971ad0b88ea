/** The live view of one observer or subscription: its last lines, then new ones as they come, until a key is pressed. */
import pc from 'picocolors';
import type { ConsoleContext } from './context.ts';
import { hint, status } from './format.ts';
import type { Watcher } from './watchers.ts';

/** Lines of history shown when the view opens. */
export const LIVE_VIEW_BACKLOG_LINES = 10;

export async function liveView(ctx: ConsoleContext, watcher: Watcher): Promise<void> {
  const { terminal } = ctx;
  const what = watcher.kind === 'observer' ? 'Observer' : 'Subscription';
  terminal.print();
  terminal.print(`${pc.bold(`👁  Monitoring ${what}: ${watcher.name}`)} ${hint(`(${watcher.count} so far, ${status(watcher.status)})`)}`);
  terminal.print(hint(`Type: ${watcher.type}, Selector: ${JSON.stringify(watcher.selector)}`));
  terminal.print(hint('Press any key to return to the menu; it keeps running in the background'));
  terminal.print();
  for (const line of watcher.lines(LIVE_VIEW_BACKLOG_LINES)) terminal.print(line);
  const off = watcher.onLine((line) => terminal.print(line));
  try {
    await terminal.waitForKey();
  } finally {
    off();
  }
  terminal.print(hint(`${watcher.name}: ${watcher.count} events, ${watcher.status}`));
}
