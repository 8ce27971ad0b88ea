/**
 * `gater observe`: prints events as they happen, for scripts: a transient subscription (by stream, event type,
 * payload pattern or stream wildcard), or with `--subscription` a saved persistent one, acked as printed.
 */
import type { HttpSubscription } from '../client/index.ts';
import { MAX_CALL_TIMEOUT_MS } from '../config/index.ts';
import { GaterError } from '../errors/index.ts';
import { receivedLine, seenLine } from '../console/format.ts';
import type { SubscriptionSelector, SubscriptionType } from '../store/types.ts';
import type { CliIo } from './cli-io.ts';
import { integerFlag, jsonFlag, parseClientCommand, SCRIPT_CALL_TIMEOUT_MS, stopRequest, stringFlag } from './client-command.ts';
import { EXIT_FAILURE, EXIT_OK } from './exit-codes.ts';
import { callFailed, printFailure, usageFailed } from './failure-output.ts';

export const OBSERVE_USAGE = `Usage: gater observe [--stream STREAM|$all | --type TYPE | --payload JSON | --pattern WILDCARD
                     | --subscription NAME] [--from POSITION] [--count N] [--duration-ms MS]
                     [--url URL] [--store STORE] [--json] [--timeout-ms MS]

Prints events as they are appended: "SEEN stream:type (vN) => data" (default: every stream, from now on).

  --stream S          one stream, or $all
  --type T            events of one type, in any stream
  --payload JSON      events whose data matches a pattern, e.g. '{"operator":"John"}'; {"$exists":true} is any value
  --pattern W         streams matching a wildcard, e.g. 'greenhouse*'
  --subscription N    a saved persistent subscription: "RECEIVED N ..." lines, each event acked once printed
  --from POSITION     start at this global position instead of now (transient only)
  --count N           stop after N events
  --duration-ms MS    stop after MS milliseconds (otherwise run until Ctrl+C)
  --json              one JSON object per line: {"event": {...}, "attempt": n}; a failure as a last line
                      {"error": {"code", "message", ...}}
  --timeout-ms MS     deadline of each call (default ${SCRIPT_CALL_TIMEOUT_MS}, at most ${MAX_CALL_TIMEOUT_MS})

The stream reconnects by itself if the node restarts. Exit codes: 0 done (count reached, time up, Ctrl+C, or the
output's reader gone, as with | head), 1 fewer than --count events before --duration-ms, a refused subscription or
an unreachable node, 2 bad command line.
`;

const FLAGS = {
  stream: { type: 'string' },
  type: { type: 'string' },
  payload: { type: 'string' },
  pattern: { type: 'string' },
  subscription: { type: 'string' },
  from: { type: 'string' },
  count: { type: 'string' },
  'duration-ms': { type: 'string' },
} as const;

export async function runObserve(argv: readonly string[], io: CliIo): Promise<number> {
  const cmd = parseClientCommand('observe', argv, io, FLAGS, OBSERVE_USAGE);
  if (typeof cmd === 'number') return cmd;
  const { flags, problems, client, store, json } = cmd;
  const chosen = ['stream', 'type', 'payload', 'pattern', 'subscription'].filter((f) => flags.has(f));
  if (chosen.length > 1) problems.push(`give one of --${chosen.join(', --')}`);
  const persistent = stringFlag(flags, 'subscription');
  let type: SubscriptionType = 'by_stream';
  let selector: SubscriptionSelector = stringFlag(flags, 'stream') ?? '$all';
  if (flags.has('type')) [type, selector] = ['by_event_type', stringFlag(flags, 'type')!];
  if (flags.has('pattern')) [type, selector] = ['by_event_pattern', stringFlag(flags, 'pattern')!];
  if (flags.has('payload')) {
    const pattern = jsonFlag(flags, 'payload', problems);
    if (pattern !== undefined && (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern))) problems.push('--payload must be a JSON object');
    [type, selector] = ['by_event_payload', pattern as SubscriptionSelector];
  }
  const from = flags.has('from') ? integerFlag(flags, 'from', 0, 0, Number.MAX_SAFE_INTEGER, problems) : undefined;
  if (from !== undefined && persistent !== undefined) problems.push('--from does not apply to --subscription (it resumes after its checkpoint)');
  const count = flags.has('count') ? integerFlag(flags, 'count', 1, 1, Number.MAX_SAFE_INTEGER, problems) : undefined;
  const durationMs = flags.has('duration-ms') ? integerFlag(flags, 'duration-ms', 1, 1, 2_147_483_647, problems) : undefined;
  if (problems.length > 0) return usageFailed('observe', io, problems, json);

  let subscription: HttpSubscription;
  try {
    subscription = persistent === undefined
      ? await client.observe(store, { type, selector, ...(from === undefined ? {} : { startFrom: from }) })
      : await client.subscribe(store, persistent);
  } catch (err) {
    return callFailed('observe', io, err, json);
  }
  const stop = stopRequest(io);
  void stop.stopped.then(() => subscription.close('stopped'));
  const timer = durationMs === undefined ? undefined : setTimeout(() => subscription.close('time is up'), durationMs);
  let seen = 0;
  try {
    for await (const delivery of subscription) {
      seen += 1;
      io.stdout.write(json ? `${JSON.stringify(delivery)}\n` : `${persistent === undefined ? seenLine(delivery) : receivedLine(persistent, delivery)}\n`);
      if (persistent !== undefined) await subscription.ack(delivery.event.position);
      if (count !== undefined && seen >= count) break;
    }
  } catch (err) {
    return callFailed('observe', io, err, json);
  } finally {
    clearTimeout(timer);
    stop.dispose();
    subscription.close();
    client.close();
  }
  if (count !== undefined && seen < count && (await subscription.ended) === 'time is up') {
    const message = `${seen} of ${count} events within ${durationMs} ms`;
    printFailure(io, json, new GaterError('timeout', message), `gater observe: ${message}`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
