/** Menu options 1 to 6: create observers by stream, by event type and by payload; list, monitor and stop them. */
import pc from 'picocolors';
import type { SubscriptionSelector, SubscriptionType } from '../store/types.ts';
import { CONSOLE_CALL_DEADLINE_MS, type ConsoleContext } from './context.ts';
import { failure, hint, shortJson, status, success, table, warning } from './format.ts';
import { GREENHOUSE_EVENT_TYPES } from './greenhouse.ts';
import { liveView } from './live-view.ts';
import type { Choice } from './terminal.ts';
import type { Watcher } from './watchers.ts';

/** Streams named as examples when creating an observer by stream. */
const STREAMS_SHOWN = 10;
const OTHER = '\0other';

export async function createStreamObserver(ctx: ConsoleContext): Promise<void> {
  const streams = await ctx.terminal
    .spin('Fetching streams', ctx.client.getStreams(ctx.store, { deadlineMs: CONSOLE_CALL_DEADLINE_MS }))
    .catch(() => []);
  const names = streams.slice(0, STREAMS_SHOWN).map((s) => s.streamId);
  ctx.terminal.print(`Available streams: ${names.length === 0 ? hint('none yet') : JSON.stringify(names)}${streams.length > STREAMS_SHOWN ? ' …' : ''}`);
  ctx.terminal.print(`Special streams: ${pc.cyan('$all')} (all streams)`);
  const stream = (await ctx.terminal.ask('Enter stream name (or $all):', { default: '$all', validate: nonEmpty })).trim();
  await startObserver(ctx, 'by_stream', stream, `${stream === '$all' ? 'all' : stream}_observer`);
}

export async function createTypeObserver(ctx: ConsoleContext): Promise<void> {
  const choices: Choice<string>[] = [
    ...GREENHOUSE_EVENT_TYPES.map((type) => ({ name: type, value: type })),
    { name: 'another event type…', value: OTHER },
  ];
  let type = await ctx.terminal.choose('Event type:', choices);
  if (type === OTHER) type = (await ctx.terminal.ask('Enter event type:', { validate: nonEmpty })).trim();
  await startObserver(ctx, 'by_event_type', type, `${type.split(':')[0]}_observer`);
}

export async function createPayloadObserver(ctx: ConsoleContext): Promise<void> {
  ctx.terminal.print('Example patterns (matched against the event data; fields not named may hold anything):');
  ctx.terminal.print(`  ${pc.blue('{"operator": "John"}')}               ${hint('events with operator John')}`);
  ctx.terminal.print(`  ${pc.blue('{"temperature": 25}')}                ${hint('events with temperature 25')}`);
  ctx.terminal.print(`  ${pc.blue('{"intensity": {"$exists": true}}')}   ${hint('events with any intensity field')}`);
  const text = await ctx.terminal.ask('Pattern (JSON object):', { default: '{"operator": "John"}', validate: jsonObject });
  const pattern = JSON.parse(text) as Record<string, unknown>;
  const operator = pattern['operator'];
  const name = typeof operator === 'string' && /^[A-Za-z0-9_-]+$/.test(operator) ? `${operator.toLowerCase()}_observer` : 'payload_observer';
  await startObserver(ctx, 'by_event_payload', pattern, name);
}

export function listObservers(ctx: ConsoleContext): void {
  const rows = ctx.watchers.list('observer').map((w) => watcherRow(w));
  ctx.terminal.print(table(['NAME', 'TYPE', 'SELECTOR', 'STATUS', 'SEEN', 'FAILURES', 'NOTE'], rows, 'no observers: create one with options 1 to 3'));
}

export async function monitorWatcher(ctx: ConsoleContext): Promise<void> {
  const watchers = ctx.watchers.list();
  if (watchers.length === 0) {
    ctx.terminal.print(warning('No observers yet: create one with options 1 to 3 (or a subscription with option 10)'));
    return;
  }
  const name = await ctx.terminal.choose(
    'Monitor which?',
    watchers.map((w) => ({ name: `${w.name} ${hint(`${w.kind}, ${w.type} ${shortJson(w.selector, 40)}, ${w.count} seen`)} ${status(w.status)}`, value: w.name })),
  );
  const watcher = ctx.watchers.get(name);
  if (watcher !== undefined) await liveView(ctx, watcher);
}

export async function stopObserver(ctx: ConsoleContext): Promise<void> {
  const active = ctx.watchers.active('observer');
  if (active.length === 0) {
    ctx.terminal.print(warning('No observer is running'));
    return;
  }
  const ALL = '\0all';
  const name = await ctx.terminal.choose('Stop which observer?', [
    ...active.map((w) => ({ name: `${w.name} ${hint(`${w.type} ${shortJson(w.selector, 40)}`)}`, value: w.name })),
    { name: `all ${active.length} observers`, value: ALL },
  ]);
  const stopping = name === ALL ? active : active.filter((w) => w.name === name);
  await ctx.terminal.spin('Stopping', Promise.all(stopping.map((w) => w.stop())));
  for (const w of stopping) ctx.terminal.print(success(`${w.name} stopped after ${w.count} events`));
}

/** A row of the observer list: NOTE is what is wrong now, FAILURES how often something went wrong. */
export function watcherRow(w: Watcher): string[] {
  const note = w.lastError === undefined ? '' : w.status === 'running' ? pc.yellow(w.lastError) : pc.red(w.lastError);
  return [w.name, w.type, shortJson(w.selector, 40), status(w.status), String(w.count), w.failures === 0 ? '' : pc.yellow(String(w.failures)), note];
}

async function startObserver(ctx: ConsoleContext, type: SubscriptionType, selector: SubscriptionSelector, suggested: string): Promise<void> {
  const name = (await ctx.terminal.ask('Enter observer name:', { default: uniqueName(ctx, suggested), validate: (v) => freeName(ctx, v) })).trim();
  try {
    const watcher = await ctx.terminal.spin(
      `Starting ${name}`,
      ctx.watchers.start({
        kind: 'observer',
        name,
        type,
        selector,
        open: (onStateChange) => ctx.client.observe(ctx.store, { type, selector }, { onStateChange, deadlineMs: CONSOLE_CALL_DEADLINE_MS }),
      }),
    );
    ctx.terminal.print(success(`Observer ${pc.bold(watcher.name)} running (${type} ${shortJson(selector, 60)}); option 5 shows what it sees`));
  } catch (err) {
    ctx.terminal.print(failure(`Observer ${name} not started: ${(err as Error).message}`));
  }
}

function uniqueName(ctx: ConsoleContext, base: string): string {
  if (ctx.watchers.get(base) === undefined) return base;
  for (let i = 2; ; i += 1) if (ctx.watchers.get(`${base}_${i}`) === undefined) return `${base}_${i}`;
}

function freeName(ctx: ConsoleContext, value: string): true | string {
  const name = value.trim();
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) return 'use 1 to 64 letters, digits, _ . : or -';
  const existing = ctx.watchers.get(name);
  if (existing !== undefined && (existing.status === 'running' || existing.status === 'reconnecting')) return `${name} is already running`;
  return true;
}

export function nonEmpty(value: string): true | string {
  return value.trim() === '' ? 'type something' : true;
}

export function jsonObject(value: string): true | string {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'type a JSON object, such as {"operator": "John"}';
    return true;
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
}
