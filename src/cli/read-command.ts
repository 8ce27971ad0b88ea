/** `gater read`: reads a stream (or `$all`) and prints its events, for scripts. */
import { MAX_CALL_TIMEOUT_MS } from '../config/index.ts';
import type { RecordedEvent } from '../store/types.ts';
import type { CliIo } from './cli-io.ts';
import { integerFlag, parseClientCommand, SCRIPT_CALL_TIMEOUT_MS, stringFlag } from './client-command.ts';
import { EXIT_OK } from './exit-codes.ts';
import { callFailed, usageFailed } from './failure-output.ts';

export const READ_USAGE = `Usage: gater read --stream STREAM|$all [--from N] [--count N] [--backward]
                  [--url URL] [--store STORE] [--json] [--timeout-ms MS]

Prints events of a stream, one per line: "position stream:type (vN) => data". With $all, every stream by global
position (--from is then a position).

  --from N          first version (or position with $all) to read; default the start (the end with --backward)
  --count N         at most this many events (default 100)
  --backward        newest first (not with $all)
  --json            print {"events": [...]} ($all adds "nextPosition", where the next page starts), or on failure
                    {"error": {"code", "message", ...}}
  --timeout-ms MS   deadline of each call (default ${SCRIPT_CALL_TIMEOUT_MS}, at most ${MAX_CALL_TIMEOUT_MS})

Exit codes: 0 read (an empty or missing stream prints nothing), 1 refused or unreachable node, 2 bad command line.
`;

const FLAGS = {
  stream: { type: 'string' },
  from: { type: 'string' },
  count: { type: 'string' },
  backward: { type: 'boolean' },
} as const;

export async function runRead(argv: readonly string[], io: CliIo): Promise<number> {
  const cmd = parseClientCommand('read', argv, io, FLAGS, READ_USAGE);
  if (typeof cmd === 'number') return cmd;
  const { flags, problems } = cmd;
  const streamId = stringFlag(flags, 'stream');
  if (streamId === undefined) problems.push('--stream is required ($all reads every stream)');
  const from = flags.has('from') ? integerFlag(flags, 'from', 0, 0, Number.MAX_SAFE_INTEGER, problems) : undefined;
  const count = integerFlag(flags, 'count', 100, 1, 10_000, problems);
  const backward = flags.get('backward')?.value === true;
  if (streamId === '$all' && backward) problems.push('--backward does not apply to $all');
  if (problems.length > 0) return usageFailed('read', io, problems, cmd.json);
  try {
    let events: RecordedEvent[];
    let nextPosition: number | undefined;
    if (streamId === '$all') {
      const page = await cmd.client.readAll(cmd.store, from ?? 0, count);
      events = page.events;
      nextPosition = page.scannedTo + 1;
    } else {
      events = await cmd.client
        .getEvents(cmd.store, streamId!, {
          count,
          direction: backward ? 'backward' : 'forward',
          ...(from === undefined ? {} : { fromVersion: from }),
        })
        .catch((err: unknown) => {
          // A stream that does not exist reads as empty, as its version reads as -1.
          if ((err as { code?: string }).code === 'stream_not_found') return [];
          throw err;
        });
    }
    if (cmd.json) io.stdout.write(`${JSON.stringify(nextPosition === undefined ? { events } : { events, nextPosition })}\n`);
    else for (const e of events) io.stdout.write(`${e.position} ${e.streamId}:${e.eventType} (v${e.version}) => ${JSON.stringify(e.data)}\n`);
    return EXIT_OK;
  } catch (err) {
    return callFailed('read', io, err, cmd.json);
  }
}
