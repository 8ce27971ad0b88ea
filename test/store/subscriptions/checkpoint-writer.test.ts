/** Checkpoint coalescing and failure handling (the SQLite-backed behaviour is in persistent.test.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnavailableError } from '../../../src/errors/index.ts';
import { CheckpointWriter } from '../../../src/store/subscriptions/checkpoint-writer.ts';

class CheckpointTable {
  saved: number[] = [];
  failNext = 0;
  async saveCheckpoint(_name: string, position: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (this.failNext > 0) {
      this.failNext--;
      throw new UnavailableError('disk unavailable');
    }
    this.saved.push(position);
  }
}

describe('CheckpointWriter', () => {
  it('writes once for every request of a tick, and once more for requests made during that write', async () => {
    const table = new CheckpointTable();
    const writer = new CheckpointWriter({ store: table }, { subscription: 's', checkpoint: -1 });
    const first = [writer.save(3), writer.save(7), writer.save(5)];
    await new Promise((resolve) => setImmediate(resolve)); // the write of 7 is now in flight
    const later = [writer.save(9), writer.save(8)];
    assert.deepEqual(await Promise.all([...first, ...later]), [7, 7, 7, 9, 9]);
    assert.deepEqual(table.saved, [7, 9]);
    assert.equal(await writer.save(4), 9, 'already covered: no write');
    assert.deepEqual(table.saved, [7, 9]);
  });

  it('a failed write rejects its waiters; the next request writes again', async () => {
    const table = new CheckpointTable();
    table.failNext = 1;
    const writer = new CheckpointWriter({ store: table }, { subscription: 's', checkpoint: 0 });
    await assert.rejects(writer.save(2), UnavailableError);
    assert.equal(writer.durable, 0);
    assert.equal(await writer.save(1), 2, 'the failed target is written with the next request');
    assert.deepEqual(table.saved, [2]);
    await writer.settled();
  });
});
