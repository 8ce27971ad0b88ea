/**
 * Writes whose commit fails on a failing disk, on real SQLite files. When syncing the WAL fails (EIO), SQLite has
 * already written the transaction into the WAL, commit frame included, and only leaves its in-memory WAL index as it
 * was: the connection reads as if nothing had been written, while a restart may recover the transaction. So such a
 * write answers `unavailable` with `outcome: 'unknown'`, never "not written", and the store then shows what a restart
 * finds, so that a crash never contradicts what it answered afterwards. A full disk fails before the commit frame is
 * complete: that write is known not to be written, and says so.
 *
 * The faults come from fixtures/wal-fault.c, preloaded into a child process that holds the store; the test kills it
 * (SIGKILL) and opens the store again to see what a restart finds. The shim is compiled here with the system's C
 * compiler; without one, or off Linux, these tests skip and say why.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SqliteEventStore } from '../../src/store/sqlite/index.ts';
import type { NewEvent } from '../../src/store/types.ts';
import { storeState, type StoreState } from './fixtures/store-state.ts';

const CHILD = fileURLToPath(new URL('./fixtures/sqlite-fault-child.ts', import.meta.url));
const SHIM_SOURCE = fileURLToPath(new URL('./fixtures/wal-fault.c', import.meta.url));
/** Longest a child may live, in milliseconds. */
const CHILD_DEADLINE_MS = 30_000;
const STREAMS = ['a', 'b'];

type FaultMode = 'eio' | 'eio-once' | 'eio-dead' | 'enospc';

const root = await mkdtemp(join(tmpdir(), 'gater-commit-outcome-'));
after(() => rm(root, { recursive: true, force: true }));

/** The shim's path, or why the tests must skip. */
async function buildShim(): Promise<{ shim: string } | { skip: string }> {
  if (process.platform !== 'linux') return { skip: 'the fault shim needs Linux (LD_PRELOAD, /proc/self/fd)' };
  const shim = join(root, 'wal-fault.so');
  try {
    await promisify(execFile)('cc', ['-shared', '-fPIC', '-O1', '-o', shim, SHIM_SOURCE, '-ldl']);
    return { shim };
  } catch (err) {
    return { skip: `no C compiler to build the fault shim (cc: ${(err as Error).message.split('\n')[0]})` };
  }
}
const built = await buildShim();

interface Answer {
  ok?: unknown;
  error?: { code: string; message: string; data: Record<string, unknown> };
}

/** The store held by a child process with the shim preloaded; its faults arm while `flag` exists. */
class FaultyStoreProcess {
  readonly storeId: string;
  readonly flag: string;
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #answers: ((line: string) => void)[] = [];
  readonly #exited: Promise<unknown>;
  #stderr = '';

  constructor(shim: string, storeId: string, mode: FaultMode, maxBatchEvents?: number) {
    this.storeId = storeId;
    this.flag = join(root, `${storeId}.flag`);
    const args = maxBatchEvents === undefined ? [] : [String(maxBatchEvents)];
    this.#proc = spawn(process.execPath, [CHILD, root, storeId, ...args], {
      stdio: 'pipe',
      env: { ...process.env, LD_PRELOAD: shim, WAL_FAULT_MODE: mode, WAL_FAULT_FLAG: this.flag },
    });
    this.#proc.stderr.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()));
    createInterface({ input: this.#proc.stdout }).on('line', (line) => this.#answers.shift()?.(line));
    const deadline = setTimeout(() => this.#proc.kill('SIGKILL'), CHILD_DEADLINE_MS);
    this.#exited = once(this.#proc, 'exit').finally(() => clearTimeout(deadline));
  }

  /** Resolves once the store is open. */
  async ready(): Promise<void> {
    assert.deepEqual(await this.#next(), { ready: true });
  }

  call(op: string, ...args: unknown[]): Promise<Answer> {
    this.#proc.stdin.write(JSON.stringify({ op, args }) + '\n');
    return this.#next() as Promise<Answer>;
  }

  async state(): Promise<StoreState> {
    this.#proc.stdin.write(JSON.stringify({ op: 'state', streams: STREAMS }) + '\n');
    const answer = (await this.#next()) as Answer;
    assert.equal(answer.error, undefined, JSON.stringify(answer.error));
    return answer.ok as StoreState;
  }

  /** Sends SIGKILL and waits for the process to be gone: its store is left as a crash leaves it. */
  async kill(): Promise<void> {
    this.#proc.kill('SIGKILL');
    await this.#exited;
  }

  #next(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#answers.push((line) => resolve(JSON.parse(line)));
      void this.#exited.then(() => reject(new Error(`child ended: ${this.#stderr}`)));
    });
  }
}

/** What a restart finds: the store opened again, in this process, without the shim. */
async function afterRestart(storeId: string): Promise<StoreState> {
  const store = new SqliteEventStore({}, { storeId, dataDir: root });
  await store.open();
  try {
    return await storeState(store, STREAMS);
  } finally {
    await store.close();
  }
}

function withIds(n: number, eventType: string): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({ eventId: randomUUID(), eventType, data: { i } }));
}

let stores = 0;

/**
 * Opens a store in a child, gives it two streams, a subscription with a checkpoint and a snapshot, then runs `write`
 * with the faults armed. Returns its answer, the state before and after it as the child shows it, and the child.
 */
async function failingWrite(
  shim: string,
  mode: FaultMode,
  write: [string, ...unknown[]],
  maxBatchEvents?: number,
): Promise<{ answer: Answer; before: StoreState; after: StoreState; child: FaultyStoreProcess }> {
  const child = new FaultyStoreProcess(shim, `s${stores++}`, mode, maxBatchEvents);
  try {
    await child.ready();
    for (const [op, ...args] of [
      ['append', 'a', withIds(2, 'First')],
      ['append', 'b', withIds(1, 'First')],
      ['saveSubscription', { type: 'by_stream', selector: 'a', name: 'sub' }],
      ['saveCheckpoint', 'sub', 0],
      ['recordSnapshot', { sourceUuid: 'src', streamUuid: 'a', version: 1, data: { n: 1 } }],
    ] as [string, ...unknown[]][]) {
      const answer = await child.call(op, ...args);
      assert.equal(answer.error, undefined, `${op}: ${JSON.stringify(answer.error)}`);
    }
    const before = await child.state();
    await writeFile(child.flag, '');
    const answer = await child.call(...write);
    await rm(child.flag, { force: true });
    return { answer, before, after: await child.state(), child };
  } catch (err) {
    await child.kill();
    throw err;
  }
}

function assertOutcomeUnknown(answer: Answer): void {
  assert.ok(answer.error !== undefined, `expected a failure, got ${JSON.stringify(answer.ok)}`);
  assert.equal(answer.error.code, 'unavailable', answer.error.message);
  assert.equal(answer.error.data['outcome'], 'unknown', answer.error.message);
  assert.equal(answer.error.data['delivered'], undefined);
  assert.match(answer.error.message, /outcome unknown/);
}

const WRITES: [string, [string, ...unknown[]]][] = [
  ['an append batch', ['append', 'a', withIds(3, 'Failed')]],
  ['a stream deletion', ['deleteStream', 'b']],
  ['a snapshot', ['recordSnapshot', { sourceUuid: 'src', streamUuid: 'a', version: 2, data: { n: 2 } }]],
  ['a checkpoint', ['saveCheckpoint', 'sub', 1]],
  ['a subscription removal', ['removeSubscription', 'by_stream', 'a', 'sub']],
];

describe('SQLite writes whose WAL sync fails', { skip: 'skip' in built ? built.skip : false }, () => {
  const shim = 'shim' in built ? built.shim : '';

  for (const [what, write] of WRITES) {
    it(`${what}, the sync failing for good: outcome unknown, then the store shows it written, as a restart does`, async () => {
      const { answer, before, after, child } = await failingWrite(shim, 'eio', write);
      await child.kill();
      assertOutcomeUnknown(answer);
      assert.deepEqual(await afterRestart(child.storeId), after);
      // The shim loses nothing it was given, so the commit frame is in the WAL and recovery replays it.
      assert.notDeepEqual(after, before, 'the write shows once the store has reopened its database');
    });

    it(`${what}, the sync failing once: outcome unknown, then the store shows it not written, as a restart does`, async () => {
      const { answer, before, after, child } = await failingWrite(shim, 'eio-once', write);
      await child.kill();
      assertOutcomeUnknown(answer);
      // Closing the connection checkpointed what its WAL index knew and removed the WAL, the failed commit with it.
      assert.deepEqual(after, before);
      assert.deepEqual(await afterRestart(child.storeId), after);
    });
  }

  for (const mode of ['eio', 'eio-once'] as const) {
    it(`an append repeated with its event ids after an unknown outcome (${mode}) is written once`, async () => {
      const events = withIds(3, 'Failed');
      const { answer, child } = await failingWrite(shim, mode, ['append', 'a', events]);
      try {
        assertOutcomeUnknown(answer);
        assert.deepEqual(await child.call('append', 'a', events), { ok: { version: 4, position: 5 } });
        const shown = await child.state();
        await child.kill();
        assert.deepEqual(await afterRestart(child.storeId), shown);
        assert.deepEqual(
          shown.events.filter(([, streamId]) => streamId === 'a').map(([, , version]) => version),
          [0, 1, 2, 3, 4],
        );
      } finally {
        await child.kill();
      }
    });
  }

  for (const mode of ['eio', 'eio-once'] as const) {
    it(`appends queued behind a batch of unknown outcome (${mode}) go on through the reopened database`, async () => {
      // One append per batch: the second waits in the queue while the first fails.
      const write: [string, ...unknown[]] = ['appendTogether', ['a', withIds(3, 'Failed')], ['b', withIds(3, 'Queued')]];
      const { answer, after, child } = await failingWrite(shim, mode, write, 3);
      await child.kill();
      const [first, second] = answer.ok as Answer[];
      assertOutcomeUnknown(first!);
      if (mode === 'eio') {
        assertOutcomeUnknown(second!); // its own commit failed the same way
      } else {
        assert.deepEqual(second, { ok: { version: 3, position: 5 } });
      }
      assert.deepEqual(await afterRestart(child.storeId), after);
      assert.equal(after.versions['b'], 3);
    });
  }

  it('a store whose database cannot be opened again fails every call with unavailable, until closed', async () => {
    const child = new FaultyStoreProcess(shim, `s${stores++}`, 'eio-dead');
    try {
      await child.ready();
      assert.equal((await child.call('append', 'a', withIds(2, 'First'))).error, undefined);
      await writeFile(child.flag, '');
      assertOutcomeUnknown(await child.call('append', 'a', withIds(1, 'Failed')));
      const calls: [string, ...unknown[]][] = [
        ['append', 'a', withIds(1, 'After')],
        ['streamVersion', 'a'],
        ['recordSnapshot', { sourceUuid: 'src', streamUuid: 'a', version: 1, data: {} }],
      ];
      for (const call of calls) {
        const { error } = await child.call(...call);
        assert.equal(error?.code, 'unavailable', `${call[0]}: ${JSON.stringify(error)}`);
        assert.match(error.message, /could not be opened again/);
      }
      assert.equal(((await child.call('health')).ok as { ok: boolean }).ok, false);
      assert.deepEqual(await child.call('close'), { ok: null });
    } finally {
      await child.kill();
    }
  });

  // SQLITE_FULL comes only from a write into the WAL that did not complete, and a commit frame not wholly written
  // fails its checksum, so recovery never replays it: these writes are known not to be written.
  for (const [what, write] of WRITES.slice(0, 3)) {
    it(`${what} on a full disk: not written, and a restart agrees`, async () => {
      const { answer, before, after, child } = await failingWrite(shim, 'enospc', write);
      await child.kill();
      assert.ok(answer.error !== undefined, `expected a failure, got ${JSON.stringify(answer.ok)}`);
      assert.equal(answer.error.code, 'unavailable');
      assert.equal(answer.error.data['outcome'], undefined, answer.error.message);
      assert.match(answer.error.message, /disk is full/);
      assert.deepEqual(after, before);
      assert.deepEqual(await afterRestart(child.storeId), after);
    });
  }
});
