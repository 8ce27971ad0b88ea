/**
 * Menu options 10 and 11: create a persistent subscription with a start position and consume it here, acking every
 * event (RECEIVED lines); list the store's subscriptions with their checkpoints and what this console consumes.
 */
import pc from 'picocolors';
import type { SubscriptionSelector, SubscriptionType } from '../store/types.ts';
import { CONSOLE_CALL_DEADLINE_MS, type ConsoleContext } from './context.ts';
import { failure, hint, shortJson, status, success, table } from './format.ts';
import { liveView } from './live-view.ts';
import { jsonObject, nonEmpty } from './observer-screens.ts';

const TYPES: { name: string; value: SubscriptionType; example: string }[] = [
  { name: 'by_stream (one stream, or $all)', value: 'by_stream', example: '$all' },
  { name: 'by_event_type', value: 'by_event_type', example: 'temperature_measured:v1' },
  { name: 'by_event_pattern (stream-id wildcard)', value: 'by_event_pattern', example: 'greenhouse*' },
  { name: 'by_event_payload (JSON pattern)', value: 'by_event_payload', example: '{"operator": "John"}' },
];

export async function createSubscription(ctx: ConsoleContext): Promise<void> {
  const { terminal } = ctx;
  const name = (await terminal.ask('Subscription name:', { default: 'my_subscription', validate: nonEmpty })).trim();
  const type = await terminal.choose('Subscription type:', TYPES.map(({ name: n, value }) => ({ name: n, value })));
  const example = TYPES.find((t) => t.value === type)!.example;
  const text = (await terminal.ask('Selector:', { default: example, validate: type === 'by_event_payload' ? jsonObject : nonEmpty })).trim();
  const selector: SubscriptionSelector = type === 'by_event_payload' ? (JSON.parse(text) as Record<string, unknown>) : text;
  const oneStream = type === 'by_stream' && text !== '$all';
  const startFrom = await terminal.askNumber(
    oneStream ? 'Start from stream version:' : 'Start from global position (0 = the whole history):',
    { default: 0, min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  );
  try {
    const record = await terminal.spin(
      `Saving ${name}`,
      ctx.client.saveSubscription(ctx.store, { type, selector, name, startFrom }, { deadlineMs: CONSOLE_CALL_DEADLINE_MS }),
    );
    const watcher = await terminal.spin(
      `Subscribing to ${name}`,
      ctx.watchers.start({
        kind: 'subscription',
        name,
        type,
        selector,
        open: (onStateChange) => ctx.client.subscribe(ctx.store, name, { onStateChange, deadlineMs: CONSOLE_CALL_DEADLINE_MS }),
      }),
    );
    terminal.print(success(`Subscription ${pc.bold(name)} saved (checkpoint ${record.checkpoint}); this console receives and acks its events`));
    await liveView(ctx, watcher);
  } catch (err) {
    terminal.print(failure(`Subscription ${name}: ${(err as Error).message}`));
  }
}

export async function listSubscriptions(ctx: ConsoleContext): Promise<void> {
  const [records, head] = await ctx.terminal.spin(
    'Fetching subscriptions',
    Promise.all([
      ctx.client.getSubscriptions(ctx.store, { deadlineMs: CONSOLE_CALL_DEADLINE_MS }),
      ctx.client.getStore(ctx.store, { deadlineMs: CONSOLE_CALL_DEADLINE_MS }),
    ]),
  );
  const rows = records.map((r) => {
    const here = ctx.watchers.get(r.name);
    const failures = here === undefined || here.failures === 0 ? '' : `, ${here.failures} failures`;
    const consumer = here?.kind === 'subscription' ? `${status(here.status)} ${hint(`${here.count} received, ${here.acked} acked${failures}`)}` : hint('not consumed here');
    return [
      r.name,
      r.type,
      shortJson(r.selector, 40),
      String(r.startFrom),
      r.checkpoint < 0 ? hint('none yet') : String(r.checkpoint),
      consumer,
    ];
  });
  ctx.terminal.print(
    table(['NAME', 'TYPE', 'SELECTOR', 'START', 'CHECKPOINT', 'THIS CONSOLE'], rows, 'no subscriptions in this store: create one with option 10'),
  );
  ctx.terminal.print(hint(`store ${ctx.store}: last position ${head.lastPosition}`));
}
