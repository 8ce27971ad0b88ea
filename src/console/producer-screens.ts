/** Menu options 7 to 9: start producers of greenhouse events, stop one (or all), list them. */
import pc from 'picocolors';
import type { ConsoleContext } from './context.ts';
import { hint, status, success, table, warning } from './format.ts';
import { DEFAULT_BATCH_SIZE, DEFAULT_RATE_PER_S, MAX_BATCH_SIZE, MAX_RATE_PER_S } from './producers.ts';

/** Streams the producers write to unless told otherwise: one per greenhouse. */
export const DEFAULT_PRODUCER_STREAMS = 'greenhouse1,greenhouse2,greenhouse3';

export async function startProducers(ctx: ConsoleContext): Promise<void> {
  const text = await ctx.terminal.ask('Streams (comma-separated, one producer each):', {
    default: DEFAULT_PRODUCER_STREAMS,
    validate: (value) => {
      const streams = splitStreams(value);
      if (streams.length === 0) return 'name at least one stream';
      const bad = streams.find((s) => s.startsWith('$') || s.length > 512);
      if (bad !== undefined) return `${bad}: a stream id may not start with $ (and has at most 512 characters)`;
      const busy = streams.find((s) => ctx.producers.get(s)?.status === 'running');
      return busy === undefined ? true : `a producer already writes to ${busy}`;
    },
  });
  const ratePerS = await ctx.terminal.askNumber('Batches per second, per producer:', { default: DEFAULT_RATE_PER_S, min: 0.1, max: MAX_RATE_PER_S });
  const batchSize = await ctx.terminal.askNumber('Events per batch:', { default: DEFAULT_BATCH_SIZE, min: 1, max: MAX_BATCH_SIZE, integer: true });
  for (const streamId of splitStreams(text)) {
    ctx.producers.start({ store: ctx.store, streamId, ratePerS, batchSize });
    ctx.terminal.print(success(`Producer ${pc.bold(streamId)} running: ${batchSize} events × ${ratePerS}/s`));
  }
}

export async function stopProducer(ctx: ConsoleContext): Promise<void> {
  const running = ctx.producers.running();
  if (running.length === 0) {
    ctx.terminal.print(warning('No producer is running'));
    return;
  }
  const ALL = '\0all';
  const streamId = await ctx.terminal.choose('Stop the producer of which stream?', [
    ...running.map((p) => ({ name: `${p.streamId} ${hint(`${p.appended} events so far`)}`, value: p.streamId })),
    { name: `all ${running.length} producers`, value: ALL },
  ]);
  const stopping = streamId === ALL ? running : running.filter((p) => p.streamId === streamId);
  await ctx.terminal.spin('Stopping', Promise.all(stopping.map((p) => p.stop())));
  for (const p of stopping) ctx.terminal.print(success(`Producer ${p.streamId} stopped after ${p.appended} events`));
}

export function listProducers(ctx: ConsoleContext): void {
  const rows = ctx.producers.list().map((p) => [
    p.streamId,
    status(p.status),
    `${p.batchSize} × ${p.ratePerS}/s`,
    String(p.appended),
    p.lastVersion < 0 ? '' : `v${p.lastVersion}`,
    p.failures === 0 ? '' : pc.yellow(String(p.failures)),
    p.lastError === undefined ? '' : pc.red(p.lastError),
  ]);
  ctx.terminal.print(table(['STREAM', 'STATUS', 'RATE', 'APPENDED', 'LAST', 'FAILURES', 'ERROR'], rows, 'no producers: start some with option 7'));
}

export function splitStreams(text: string): string[] {
  return [...new Set(text.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
}
