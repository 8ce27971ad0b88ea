/** `gater append`: appends events to a stream, for scripts. */
import { MAX_CALL_TIMEOUT_MS } from '../config/index.ts';
import type { NewEvent } from '../store/types.ts';
import type { CliIo } from './cli-io.ts';
import { jsonFlag, parseClientCommand, SCRIPT_CALL_TIMEOUT_MS, stringFlag } from './client-command.ts';
import { EXIT_OK } from './exit-codes.ts';
import { callFailed, usageFailed } from './failure-output.ts';

export const APPEND_USAGE = `Usage: gater append --stream STREAM (--type TYPE [--data JSON] [--metadata JSON] | --events JSON)
                    [--expected-version V] [--url URL] [--store STORE] [--json] [--timeout-ms MS]

Appends one event (--type with --data) or several (--events, a JSON array of {eventType, data, metadata, tags}).

  --expected-version V   a version, or any, no_stream, stream_exists (default any)
  --json                 print {"version", "position"}, or on failure {"error": {"code", "message", ...}}
  --timeout-ms MS        deadline of the call (default ${SCRIPT_CALL_TIMEOUT_MS}, at most ${MAX_CALL_TIMEOUT_MS})

Exit codes: 0 appended, 1 refused by the node (wrong_expected_version, ...) or node unreachable, 2 bad command line.
`;

const FLAGS = {
  stream: { type: 'string' },
  type: { type: 'string' },
  data: { type: 'string' },
  metadata: { type: 'string' },
  events: { type: 'string' },
  'expected-version': { type: 'string' },
} as const;

export async function runAppend(argv: readonly string[], io: CliIo): Promise<number> {
  const cmd = parseClientCommand('append', argv, io, FLAGS, APPEND_USAGE);
  if (typeof cmd === 'number') return cmd;
  const { flags, problems } = cmd;
  const streamId = stringFlag(flags, 'stream');
  if (streamId === undefined) problems.push('--stream is required');
  const type = stringFlag(flags, 'type');
  const many = jsonFlag(flags, 'events', problems);
  let events: NewEvent[] = [];
  if (type !== undefined && many !== undefined) problems.push('give --type (one event) or --events (several), not both');
  else if (many !== undefined) {
    if (Array.isArray(many)) events = many as NewEvent[];
    else problems.push('--events must be a JSON array of events');
  } else if (type !== undefined) {
    const event: NewEvent = { eventType: type, data: jsonFlag(flags, 'data', problems) ?? {} };
    const metadata = jsonFlag(flags, 'metadata', problems);
    if (metadata !== undefined) event.metadata = metadata as NewEvent['metadata'];
    events = [event];
  } else problems.push('--type (or --events) is required');
  const expected = stringFlag(flags, 'expected-version');
  if (expected !== undefined && !/^(any|no_stream|stream_exists|-?\d+)$/.test(expected)) {
    problems.push(`--expected-version must be a version, any, no_stream or stream_exists (got ${JSON.stringify(expected)})`);
  }
  if (problems.length > 0) return usageFailed('append', io, problems, cmd.json);
  try {
    const result = await cmd.client.appendEvents(cmd.store, streamId!, events, {
      ...(expected === undefined ? {} : { expectedVersion: /^-?\d+$/.test(expected) ? Number(expected) : expected }),
    });
    io.stdout.write(
      cmd.json
        ? `${JSON.stringify(result)}\n`
        : `appended ${events.length} event${events.length === 1 ? '' : 's'} to ${streamId}: version ${result.version}, position ${result.position}\n`,
    );
    return EXIT_OK;
  } catch (err) {
    return callFailed('append', io, err, cmd.json);
  }
}
