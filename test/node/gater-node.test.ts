/** A node in this process: a stop asked while it is still starting ends everything the start made, lock included. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { GaterNode } from '../../src/node/gater-node.ts';
import { testNodeSettings } from '../support/real-api.ts';

describe('GaterNode', () => {
  it('stops everything when stop is asked while it starts, and frees its data directory', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gater-node-'));
    const silent = pino({ level: 'silent' });
    const node = new GaterNode(testNodeSettings(dataDir), silent);
    try {
      const starting = node.start();
      await node.stop();
      await starting.catch(() => {});
      // Before: the stop released the lock and returned at once, and the start went on to serve without it.
      const url = node.httpUrl;
      assert.notEqual(url, '', 'the start ran to its end');
      await assert.rejects(fetch(`${url}/health/live`, { signal: AbortSignal.timeout(2_000) }), 'nothing serves');
      const again = new GaterNode(testNodeSettings(dataDir), silent);
      await again.start();
      await again.stop();
    } finally {
      await node.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
