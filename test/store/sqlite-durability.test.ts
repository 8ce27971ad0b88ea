/**
 * The SQLite store across processes: an acknowledged append survives SIGKILL of the process that made it, and an
 * open store keeps every other process out until its holder dies.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteEventStore } from '../../src/store/sqlite/index.ts';
import { readAll, rejectsWith } from './contract/support.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/store-appender.ts', import.meta.url));
/** Acknowledged events to wait for before the kill. */
const ACKS_BEFORE_KILL = 400;
/** Longest a child may take to get there, in milliseconds. */
const CHILD_DEADLINE_MS = 20_000;

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gater-durability-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  /** Resolves once the child has printed `count` lines (rejects if it ends or times out first). */
  printed(count: number): Promise<void>;
  /** Resolves when the child has exited and its stdout is fully read. */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function child(storeId: string, mode: 'append' | 'hold' | 'open'): Child {
  // process.execPath is the Node 24 running this test.
  const proc = spawn(process.execPath, [FIXTURE, root, storeId, mode], { stdio: 'pipe' });
  const lines: string[] = [];
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const waiters: { count: number; resolve: () => void }[] = [];
  const rl = createInterface({ input: proc.stdout });
  rl.on('line', (line) => {
    lines.push(line);
    for (const w of waiters) if (lines.length >= w.count) w.resolve();
  });
  const deadline = setTimeout(() => proc.kill('SIGKILL'), CHILD_DEADLINE_MS);
  const ended = (async () => {
    const [[code, signal]] = await Promise.all([
      once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
      once(rl, 'close'),
    ]);
    clearTimeout(deadline);
    return { code, signal, stderr };
  })();
  return {
    proc,
    lines,
    printed: (count) =>
      new Promise<void>((resolve, reject) => {
        if (lines.length >= count) return resolve();
        waiters.push({ count, resolve });
        void ended.then((e) => reject(new Error(`child ended after ${lines.length} lines: ${JSON.stringify(e)}`)));
      }),
    ended,
  };
}

describe('SQLite durability', () => {
  it('keeps every acknowledged event, once, after SIGKILL, with gap-free positions', async () => {
    const appender = child('killed', 'append');
    try {
      await appender.printed(ACKS_BEFORE_KILL);
    } finally {
      appender.proc.kill('SIGKILL');
    }
    // Lines printed before the process died were acknowledged too: `ended` waits until stdout is drained.
    const { signal } = await appender.ended;
    assert.equal(signal, 'SIGKILL');
    const acked = appender.lines;
    assert.ok(acked.length >= ACKS_BEFORE_KILL);

    const store = new SqliteEventStore({}, { storeId: 'killed', dataDir: root });
    await store.open();
    try {
      const events = await readAll(store);
      const count = new Map<string, number>();
      for (const e of events) count.set(e.eventId, (count.get(e.eventId) ?? 0) + 1);
      for (const id of acked) assert.equal(count.get(id), 1, `acknowledged event ${id} is there exactly once`);
      assert.equal(count.size, events.length, 'no event recorded twice');
      assert.deepEqual(
        events.map((e) => e.position),
        events.map((_, i) => i),
        'positions gap-free from 0',
      );
      const next = new Map<string, number>();
      for (const e of events) {
        assert.equal(e.version, next.get(e.streamId) ?? 0, `versions of ${e.streamId} contiguous`);
        next.set(e.streamId, e.version + 1);
      }
      // The store goes on where the dead process stopped.
      const result = await store.append('after', [{ eventType: 'Reopened' }]);
      assert.equal(result.position, events.length);
    } finally {
      await store.close();
    }
  });

  it('keeps a second process out of an open store, and lets it in once the holder is killed', async () => {
    const holder = child('held', 'hold');
    try {
      await holder.printed(1);
      assert.equal(holder.lines[0], 'ready');

      const other = child('held', 'open');
      await other.ended;
      const outcome = JSON.parse(other.lines[0] ?? '{}') as { opened: boolean; code: string; message: string };
      assert.equal(outcome.opened, false);
      assert.equal(outcome.code, 'unavailable');
      assert.match(outcome.message, /store 'held' is in use by another process/);

      const here = new SqliteEventStore({}, { storeId: 'held', dataDir: root });
      await rejectsWith(here.open(), 'unavailable');
    } finally {
      holder.proc.kill('SIGKILL');
      await holder.ended;
    }
    const after = new SqliteEventStore({}, { storeId: 'held', dataDir: root });
    await after.open();
    assert.deepEqual(await after.append('s', [{ eventType: 'Mine' }]), { version: 0, position: 0 });
    await after.close();
  });
});
