/** `gater produce`: the console's producers of greenhouse events, for scripts and load. */
import { MAX_CALL_TIMEOUT_MS } from '../config/index.ts';
import { GreenhouseEvents } from '../console/greenhouse.ts';
import { DEFAULT_BATCH_SIZE, DEFAULT_RATE_PER_S, MAX_BATCH_SIZE, MAX_RATE_PER_S, Producers } from '../console/producers.ts';
import { splitStreams, DEFAULT_PRODUCER_STREAMS } from '../console/producer-screens.ts';
import type { CliIo } from './cli-io.ts';
import { integerFlag, parseClientCommand, SCRIPT_CALL_TIMEOUT_MS, stopRequest, stringFlag } from './client-command.ts';
import { EXIT_FAILURE, EXIT_OK } from './exit-codes.ts';
import { usageFailed } from './failure-output.ts';

export const PRODUCE_USAGE = `Usage: gater produce [--streams a,b,c] [--rate R] [--batch N] [--batches N] [--duration-ms MS]
                     [--url URL] [--store STORE] [--json] [--timeout-ms MS]

Appends realistic greenhouse events (measurements, devices switched, setpoints by operators such as John), one
producer per stream, until --batches per stream are written, --duration-ms has passed, or Ctrl+C.

  --streams a,b,c    streams to write (default ${DEFAULT_PRODUCER_STREAMS})
  --rate R           batches per second per stream (default ${DEFAULT_RATE_PER_S}, at most ${MAX_RATE_PER_S})
  --batch N          events per batch (default ${DEFAULT_BATCH_SIZE})
  --json             print {"appended", "batches", "failures", "streams": {...}} at the end, with "error":
                     {"code", "message"} when an append failed
  --timeout-ms MS    deadline of each append (default ${SCRIPT_CALL_TIMEOUT_MS}, at most ${MAX_CALL_TIMEOUT_MS})

Exit codes: 0 every append succeeded, 1 some append failed (the last error is printed), 2 bad command line.
`;

const FLAGS = {
  streams: { type: 'string' },
  rate: { type: 'string' },
  batch: { type: 'string' },
  batches: { type: 'string' },
  'duration-ms': { type: 'string' },
} as const;

export async function runProduce(argv: readonly string[], io: CliIo): Promise<number> {
  const cmd = parseClientCommand('produce', argv, io, FLAGS, PRODUCE_USAGE);
  if (typeof cmd === 'number') return cmd;
  const { flags, problems, client, store, json } = cmd;
  const streams = splitStreams(stringFlag(flags, 'streams') ?? DEFAULT_PRODUCER_STREAMS);
  if (streams.length === 0 || streams.some((s) => s.startsWith('$'))) problems.push('--streams must name streams (not starting with $)');
  const rateText = stringFlag(flags, 'rate');
  // Decimal digits with an optional fraction: Number() alone would take 0x10, 1e1 or a blank.
  const ratePerS = rateText === undefined ? DEFAULT_RATE_PER_S : /^\d+(\.\d+)?$/.test(rateText) ? Number(rateText) : NaN;
  if (!(ratePerS >= 0.1 && ratePerS <= MAX_RATE_PER_S)) problems.push(`--rate must be a number from 0.1 to ${MAX_RATE_PER_S} (got ${JSON.stringify(rateText)})`);
  const batchSize = integerFlag(flags, 'batch', DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE, problems);
  const maxBatches = flags.has('batches') ? integerFlag(flags, 'batches', 1, 1, Number.MAX_SAFE_INTEGER, problems) : undefined;
  const durationMs = flags.has('duration-ms') ? integerFlag(flags, 'duration-ms', 1, 1, 2_147_483_647, problems) : undefined;
  if (problems.length > 0) return usageFailed('produce', io, problems, json);

  const producers = new Producers({ api: client, events: new GreenhouseEvents() });
  const started = streams.map((streamId) =>
    producers.start({ store, streamId, ratePerS, batchSize, ...(maxBatches === undefined ? {} : { maxBatches }) }),
  );
  const stop = stopRequest(io);
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<void>((resolve) => {
    if (durationMs !== undefined) timer = setTimeout(resolve, durationMs);
  });
  await Promise.race([Promise.all(started.map((p) => p.done)), stop.stopped, timeUp]);
  clearTimeout(timer);
  stop.dispose();
  await producers.stopAll();
  client.close();

  const failures = started.reduce((n, p) => n + p.failures, 0);
  const appended = started.reduce((n, p) => n + p.appended, 0);
  const last = started.find((p) => p.lastFailure !== undefined)?.lastFailure;
  // One failure for the whole run: the code of an append that failed, and how many did.
  const failure = last === undefined ? undefined : { code: last.code, message: `${failures} appends failed; last: ${last.message}` };
  if (json) {
    const perStream = Object.fromEntries(started.map((p) => [p.streamId, { appended: p.appended, batches: p.batches, failures: p.failures, lastVersion: p.lastVersion, ...(p.lastError === undefined ? {} : { lastError: p.lastError }) }]));
    const summary = { appended, batches: started.reduce((n, p) => n + p.batches, 0), failures, streams: perStream };
    io.stdout.write(`${JSON.stringify(failure === undefined ? summary : { ...summary, error: failure })}\n`);
  } else {
    for (const p of started) io.stdout.write(`${p.streamId}: ${p.appended} events in ${p.batches} batches, last version ${p.lastVersion}${p.failures > 0 ? `, ${p.failures} failed appends` : ''}\n`);
    if (last !== undefined) io.stderr.write(`gater produce: ${failures} appends failed; last: ${last.code}: ${last.message}\n`);
  }
  return failures > 0 ? EXIT_FAILURE : EXIT_OK;
}
