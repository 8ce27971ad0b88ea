/** Menu options 12 to 14: view a stream as a table, append events by hand, and the cluster's status. */
import pc from 'picocolors';
import type { RecordedEvent } from '../store/types.ts';
import { CONSOLE_CALL_DEADLINE_MS, type ConsoleContext } from './context.ts';
import { failure, hint, shortId, shortJson, status, success, table, title } from './format.ts';
import { GREENHOUSE_EVENT_TYPES } from './greenhouse.ts';
import { jsonObject, nonEmpty } from './observer-screens.ts';
import type { Choice } from './terminal.ts';

/** Events shown by "View Stream Data": the latest ones. */
export const VIEW_EVENTS = 20;
/** Streams offered in the list of "View Stream Data". */
const STREAM_CHOICES = 20;
const ALL = '$all';
const OTHER = '\0other';

export async function viewStream(ctx: ConsoleContext): Promise<void> {
  const options = { deadlineMs: CONSOLE_CALL_DEADLINE_MS };
  const streams = await ctx.terminal.spin('Fetching streams', ctx.client.getStreams(ctx.store, options));
  const choices: Choice<string>[] = [
    { name: `${ALL} ${hint('(every stream, by global position)')}`, value: ALL },
    ...streams.slice(0, STREAM_CHOICES).map((s) => ({ name: `${s.streamId} ${hint(`v${s.version}`)}`, value: s.streamId })),
  ];
  if (streams.length > STREAM_CHOICES) choices.push({ name: `another stream… ${hint(`(${streams.length} in all)`)}`, value: OTHER });
  let streamId = await ctx.terminal.choose('Which stream?', choices);
  if (streamId === OTHER) streamId = (await ctx.terminal.ask('Stream name:', { validate: nonEmpty })).trim();
  let events: RecordedEvent[];
  if (streamId === ALL) {
    const { lastPosition } = await ctx.client.getStore(ctx.store, options);
    events = (await ctx.client.readAll(ctx.store, Math.max(0, lastPosition - VIEW_EVENTS + 1), VIEW_EVENTS, options)).events;
  } else {
    events = (await ctx.client.getEvents(ctx.store, streamId, { ...options, direction: 'backward', count: VIEW_EVENTS })).reverse();
  }
  const rows = events.map((e) => [String(e.position), e.streamId, `v${e.version}`, e.eventType, shortJson(e.data, 60), e.timestamp.slice(11, 23)]);
  ctx.terminal.print(title(`${streamId}: the last ${events.length} events`));
  ctx.terminal.print(table(['POSITION', 'STREAM', 'VERSION', 'TYPE', 'DATA', 'TIME (UTC)'], rows, 'no events'));
}

export async function appendManually(ctx: ConsoleContext): Promise<void> {
  const { terminal } = ctx;
  const streamId = (await terminal.ask('Stream:', {
    default: 'greenhouse1',
    validate: (v) => (v.trim() === '' ? 'type a stream id' : v.trim().startsWith('$') ? 'a stream id may not start with $' : true),
  })).trim();
  let eventType = await terminal.choose('Event type:', [
    ...GREENHOUSE_EVENT_TYPES.map((t) => ({ name: t, value: t })),
    { name: 'another event type…', value: OTHER },
  ]);
  if (eventType === OTHER) eventType = (await terminal.ask('Event type:', { validate: nonEmpty })).trim();
  const data = await terminal.ask('Data (JSON object):', { default: JSON.stringify(ctx.events.sample(eventType)), validate: jsonObject });
  const metadata = await terminal.ask('Metadata (JSON object):', { default: '{}', validate: jsonObject });
  const expected = (await terminal.ask('Expected version (a number, any, no_stream or stream_exists):', {
    default: 'any',
    validate: (v) => (/^(any|no_stream|stream_exists|\d+)$/.test(v.trim()) ? true : 'type a version number, any, no_stream or stream_exists'),
  })).trim();
  try {
    const result = await terminal.spin(
      'Appending',
      ctx.client.appendEvents(
        ctx.store,
        streamId,
        [{ eventType, data: JSON.parse(data) as unknown, metadata: JSON.parse(metadata) as Record<string, unknown> }],
        { expectedVersion: /^\d+$/.test(expected) ? Number(expected) : expected, deadlineMs: CONSOLE_CALL_DEADLINE_MS },
      ),
    );
    terminal.print(success(`Appended ${pc.bold(eventType)} to ${pc.cyan(streamId)}: version ${result.version}, position ${result.position}`));
  } catch (err) {
    terminal.print(failure(`Not appended: ${(err as Error).message}`));
  }
}

export async function clusterStatus(ctx: ConsoleContext): Promise<void> {
  const options = { deadlineMs: CONSOLE_CALL_DEADLINE_MS };
  const [cluster, stores, health] = await ctx.terminal.spin(
    `Asking ${ctx.client.url}`,
    Promise.all([ctx.client.cluster(options), ctx.client.listStores(options), ctx.client.health(options)]),
  );
  const names = new Map<string, string>([[cluster.self.nodeId, cluster.self.name]]);
  for (const p of cluster.peers) names.set(p.nodeId, p.name);
  const { self } = cluster;
  const nodes = [
    [`${self.name} ${hint('(this node)')}`, shortId(self.nodeId), status(self.state === 'running' ? 'alive' : (self.state ?? 'unknown')), String(self.incarnation ?? ''), (self.stores ?? []).join(', ') || hint('gateway'), ''],
    ...cluster.peers.map((p) => [
      p.name,
      shortId(p.nodeId),
      status(p.state),
      String(p.incarnation ?? ''),
      (p.stores ?? []).join(', ') || hint('gateway'),
      p.connected === true ? pc.green('yes') : p.state === 'alive' ? pc.yellow('no') : pc.red('no'),
    ]),
  ];
  ctx.terminal.print(title(`Nodes (${nodes.length})`));
  ctx.terminal.print(table(['NAME', 'NODE ID', 'STATE', 'INCARNATION', 'STORES', 'MESH'], nodes, 'none'));
  const workers = stores.flatMap((s) =>
    s.workers.length === 0 ? [[s.store, pc.red('no workers'), '', '']] : s.workers.map((w) => [s.store, w.workerId, names.get(w.nodeId) ?? shortId(w.nodeId), w.backend]),
  );
  ctx.terminal.print(title(`Stores and gateway workers (${stores.length} stores)`));
  ctx.terminal.print(table(['STORE', 'WORKER', 'NODE', 'BACKEND'], workers, 'no store in the cluster'));
  const checks = Object.entries(health.checks).map(([name, c]) => [name, status(c.ok ? 'ok' : 'failing'), c.detail ?? '']);
  ctx.terminal.print(title(`Gateway health: ${health.ready ? pc.green('ready') : pc.red('not ready')}`));
  ctx.terminal.print(table(['CHECK', 'STATE', 'DETAIL'], checks, 'no checks'));
}
