/**
 * The group-commit queue's batching rules (pure logic; the stores' own tests prove the batches on real databases).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AppendQueue } from '../../src/store/append-queue.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Item {
  streamId: string;
  prepared: { events: readonly unknown[]; chars: number };
  name: string;
  deadlineAt?: number;
  signal?: AbortSignal;
  failure?: { code: string };
  reject(error: unknown): void;
}

function item(
  name: string,
  streamId: string,
  events: number,
  waiting: Pick<Item, 'deadlineAt' | 'signal'> = {},
  chars = events * 100,
): Item {
  const it: Item = {
    name,
    streamId,
    prepared: { events: new Array(events).fill(0), chars },
    ...waiting,
    reject: (error) => {
      it.failure = error as { code: string };
    },
  };
  return it;
}

function filled(...items: Item[]): AppendQueue<Item> {
  const queue = new AppendQueue<Item>();
  for (const i of items) queue.push(i);
  return queue;
}

const names = (items: readonly Item[]) => items.map((i) => i.name);

describe('AppendQueue', () => {
  it('takes the oldest appends within the event bound, and always at least one', () => {
    const queue = filled(item('a', 's', 3), item('b', 't', 3), item('c', 'u', 5), item('d', 'v', 1));
    assert.equal(queue.events, 12);
    assert.deepEqual(names(queue.takeBatch(6)), ['a', 'b']);
    assert.deepEqual(names(queue.takeBatch(2)), ['c'], 'an append larger than the bound goes alone');
    assert.equal(queue.events, 1);
    assert.deepEqual(names(queue.takeBatch(100)), ['d']);
    assert.equal(queue.length, 0);
    assert.equal(queue.events, 0);
  });

  it('passes over streams being written, keeping their appends in order for a later batch', () => {
    const queue = filled(item('s1', 's', 1), item('t1', 't', 1), item('s2', 's', 1), item('u1', 'u', 1), item('t2', 't', 1));
    const busy = new Set(['s']);
    assert.deepEqual(names(queue.takeBatch(100, busy)), ['t1', 'u1', 't2']);
    assert.equal(queue.length, 2);
    assert.equal(queue.events, 2);
    assert.deepEqual(names(queue.takeBatch(100, new Set(['t']))), ['s1', 's2']);
    assert.equal(queue.length, 0);
  });

  it('keeps what follows an append that did not fit, in order, behind the passed-over ones', () => {
    const queue = filled(item('s1', 's', 1), item('t1', 't', 2), item('u1', 'u', 2), item('s2', 's', 1), item('v1', 'v', 1));
    assert.deepEqual(names(queue.takeBatch(3, new Set(['s']))), ['t1']);
    assert.deepEqual(names(queue.takeBatch(100)), ['s1', 'u1', 's2', 'v1']);
  });

  it('takes nothing when every waiting append is to a busy stream', () => {
    const queue = filled(item('s1', 's', 1), item('s2', 's', 4));
    assert.deepEqual(queue.takeBatch(100, new Set(['s'])), []);
    assert.equal(queue.length, 2);
    assert.equal(queue.events, 5);
    assert.deepEqual(names(queue.takeBatch(100, new Set())), ['s1', 's2']);
  });

  it('takes only what fits when asked, even nothing', () => {
    const queue = filled(item('a', 's', 5), item('b', 't', 1));
    assert.deepEqual(queue.takeBatch(4, undefined, true), [], 'the oldest does not fit');
    assert.deepEqual(names(queue.takeBatch(6, new Set(['x']), true)), ['a', 'b']);
    const busy = filled(item('s1', 's', 1), item('t1', 't', 3));
    assert.deepEqual(busy.takeBatch(2, new Set(['s']), true), []);
    assert.equal(busy.events, 4);
  });

  it('bounds a batch by its characters too, an append heavier than the bound going alone', () => {
    const heavy = (name: string, streamId: string, chars: number) => item(name, streamId, 1, {}, chars);
    const queue = filled(heavy('a', 's', 400), heavy('b', 't', 500), heavy('c', 'u', 2_000), heavy('d', 'v', 10));
    assert.deepEqual(names(queue.takeBatch(100, undefined, false, 1_000)), ['a', 'b']);
    assert.deepEqual(names(queue.takeBatch(100, undefined, false, 1_000)), ['c'], 'too heavy alone, still taken');
    assert.deepEqual(names(queue.takeBatch(100, undefined, true, 5)), [], 'only what fits: nothing');
    assert.deepEqual(names(queue.takeBatch(100, new Set(['x']), false, 1_000)), ['d']);
    const avoiding = filled(heavy('s1', 's', 1), heavy('t1', 't', 600), heavy('u1', 'u', 600));
    assert.deepEqual(names(avoiding.takeBatch(100, new Set(['s']), false, 1_000)), ['t1']);
    assert.deepEqual(names(avoiding.takeBatch(100)), ['s1', 'u1'], 'the default bound is far above these');
  });

  it('fails appends whose callers stopped waiting as it reaches them, without taking or counting them', () => {
    const aborted = AbortSignal.abort();
    const past = Date.now() - 1;
    const gone = [item('late', 's', 2, { deadlineAt: past }), item('cancelled', 't', 3, { signal: aborted })];
    const queue = filled(gone[0]!, item('a', 'u', 1, { deadlineAt: Date.now() + 60_000 }), gone[1]!, item('b', 'v', 2));
    assert.deepEqual(names(queue.takeBatch(3)), ['a', 'b'], 'the gone ones take no room');
    assert.equal(queue.length, 0);
    assert.equal(queue.events, 0);
    assert.deepEqual(gone.map((g) => g.failure?.code), ['timeout', 'unavailable']);

    // Passing busy streams over: only the appends reached are looked at; a passed-over one waits, even if gone.
    const late = item('s2', 's', 1, { deadlineAt: past });
    const other = item('t1', 't', 1, { deadlineAt: past });
    const busy = filled(late, other, item('u1', 'u', 1));
    assert.deepEqual(names(busy.takeBatch(100, new Set(['s']))), ['u1']);
    assert.equal(other.failure?.code, 'timeout');
    assert.equal(late.failure?.code, undefined);
    assert.equal(busy.length, 1);
    assert.equal(busy.events, 1);
    assert.deepEqual(busy.takeBatch(100), [], 'all that waited was gone');
    assert.equal(late.failure?.code, 'timeout');
    assert.equal(busy.events, 0);

    // Only gone appends beside busy ones: nothing taken, but the gone ones leave.
    const onlyGone = filled(item('s3', 's', 1), item('x', 'x', 4, { signal: aborted }));
    assert.deepEqual(onlyGone.takeBatch(100, new Set(['s'])), []);
    assert.equal(onlyGone.length, 1);
    assert.equal(onlyGone.events, 1);
  });

  it('lets go of taken appends under a load that never lets it empty', async () => {
    // Three wait, two are taken and two more come, over and over: the queue is never empty, and each taken append (its
    // events, its caller's answer) must not stay referenced by it.
    const queue = new AppendQueue<Item>();
    const taken: WeakRef<Item>[] = [];
    for (let i = 0; i < 3; i++) queue.push(item(`w${i}`, 's', 1));
    for (let round = 0; round < 10_000; round++) {
      for (const t of queue.takeBatch(2)) taken.push(new WeakRef(t));
      queue.push(item(`a${round}`, 's', 1));
      queue.push(item(`b${round}`, 's', 1));
    }
    assert.equal(queue.length, 3);
    // A WeakRef keeps its target alive until the job that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const retained = taken.filter((ref) => ref.deref() !== undefined).length;
    assert.ok(retained <= 2_100, `${retained} of ${taken.length} taken appends still referenced`);
  });

  it('tells whether some waiting append is to a stream outside the given sets', () => {
    const queue = filled(item('s1', 's', 1), item('t1', 't', 1));
    assert.equal(queue.hasAppendOutside(new Set(['s'])), true);
    assert.equal(queue.hasAppendOutside(new Set(['s']), new Set(['t'])), false);
    queue.takeBatch(100);
    assert.equal(queue.hasAppendOutside(), false, 'an empty queue has none');
  });
});
