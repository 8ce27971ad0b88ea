/**
 * The console's observers across a restart of their node (a real node process, killed and started again on its port
 * and data dir): while the node is away the observer is `reconnecting` with the error; once it is back it is
 * `running` with no error left over, and the outage is counted in `failures` (the observer list's FAILURES column).
 */
import assert from 'node:assert/strict';
import { stripVTControlCharacters } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { GaterClient } from '../../src/client/index.ts';
import { watcherRow } from '../../src/console/observer-screens.ts';
import { Watchers } from '../../src/console/watchers.ts';
import { GaterProcess, uniqueCluster, waitFor } from '../support/gater-process.ts';

const STORE = 'default';

describe('console observers across a node restart', () => {
  const node = new GaterProcess({ name: 'console-watchers', cluster: uniqueCluster() });
  let client: GaterClient;

  before(async () => {
    await node.start();
    client = new GaterClient({}, { url: node.url, deadlineMs: 10_000 });
  });
  after(async () => {
    client.close();
    await node.close();
  });

  it('forgets the error once the stream is open again, and counts the outage as a failure', async () => {
    const watchers = new Watchers();
    const watcher = await watchers.start({
      kind: 'observer',
      name: 'all_observer',
      type: 'by_stream',
      selector: '$all',
      open: (onStateChange) => client.observe(STORE, { type: 'by_stream', selector: '$all' }, { onStateChange }),
    });
    try {
      await client.appendEvents(STORE, 'g1', [{ eventType: 'temperature_measured:v1', data: { temperature: 20 } }]);
      await waitFor('the first event', () => watcher.count === 1);
      assert.deepEqual([watcher.status, watcher.lastError], ['running', undefined]);

      await node.kill();
      await waitFor('the observer to see the node gone', () => watcher.status === 'reconnecting' && watcher.lastError !== undefined);
      assert.match(watcher.lastError!, /^unavailable: /);
      const down = watcherRow(watcher).map((cell) => stripVTControlCharacters(cell));

      await node.start();
      await waitFor('the observer to reconnect', () => watcher.status === 'running', 30_000);
      assert.equal(watcher.lastError, undefined, 'the error of the outage is not shown as if it were current');
      assert.equal(watcher.failures, 1, 'one outage, however many attempts it took');
      // NAME TYPE SELECTOR STATUS SEEN FAILURES NOTE
      assert.deepEqual([down[3], down[5]], ['reconnecting', '1']);
      assert.match(down[6]!, /^unavailable: /);
      const back = watcherRow(watcher).map((cell) => stripVTControlCharacters(cell));
      assert.deepEqual(back.slice(3), ['running', '1', '1', '']);

      await client.appendEvents(STORE, 'g1', [{ eventType: 'temperature_measured:v1', data: { temperature: 21 } }]);
      await waitFor('the event after the restart', () => watcher.count === 2);
    } finally {
      await watchers.stopAll();
    }
  });
});
