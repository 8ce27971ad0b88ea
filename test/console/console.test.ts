/**
 * `gater console` in a real terminal (tmux) against a real node: producers write greenhouse events; an observer by
 * event type sees only that type; a payload observer sees only John's actions; a persistent subscription shows
 * RECEIVED lines and its checkpoint moves as the console acks; exiting stops every producer and stream, and the
 * console process is gone. A dead node gives a message, not a crash. The seed's four testing scenarios, by keys.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { GaterClient } from '../../src/client/index.ts';
import { BIN } from '../cli/cli-harness.ts';
import { freePort, waitFor } from '../support/gater-process.ts';
import { createTestApi, type TestApi } from '../support/real-api.ts';
import { TmuxTerminal } from './tmux.ts';

const STORE = 'default';
const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

/** The lines after the last live-view header of `name`. */
function liveLines(screen: string, name: string, prefix: string): string[] {
  const at = screen.lastIndexOf(`: ${name}`);
  return screen.slice(at).split('\n').filter((l) => l.startsWith(prefix));
}

describe('gater console in tmux', { skip: hasTmux ? false : 'tmux is not installed' }, () => {
  let node: TestApi;
  let client: GaterClient;
  const term = new TmuxTerminal();

  before(async () => {
    node = await createTestApi();
    client = new GaterClient({}, { url: node.url });
    await term.start(`'${process.execPath}' '${BIN}' console --url ${node.url}; echo CONSOLE-EXITED $?; sleep 120`, {});
    await term.waitFor('the menu', /15\) Exit Console/);
  });
  after(async () => {
    await term.close();
    client.close();
    await node.close();
  });

  it('shows the menu with observers and producers', async () => {
    const screen = await term.screen();
    assert.match(screen, /Connected to http:\/\/127\.0\.0\.1:\d+: store default/);
    for (const label of ['Create Observer by Stream', 'Create Observer by Event Payload', 'Start Producers', 'Create Subscription', 'Get Cluster Status']) {
      assert.ok(screen.includes(label), label);
    }
  });

  it('scenario 1 and 2: producers write; an observer by event type sees only its type', async () => {
    await term.enter('7');
    await term.waitFor('the streams prompt', /Streams \(comma-separated/);
    await term.enter();
    await term.waitFor('the rate prompt', /Batches per second/);
    await term.keys('C-u');
    await term.enter('5');
    await term.waitFor('the batch prompt', /Events per batch/);
    await term.keys('C-u');
    await term.enter('4');
    await term.waitFor('three producers', /Producer greenhouse3 running/);

    await term.enter('2');
    await term.waitFor('the event types', /Event type:[\s\S]*temperature_measured:v1/);
    await term.enter('2');
    await term.waitFor('the name prompt', /Enter observer name/);
    await term.enter();
    await term.waitFor('the observer', /Observer temperature_measured_observer running/);

    await term.enter('5');
    await term.waitFor('the observer list', /Monitor which\?/);
    await term.enter('1');
    const screen = await term.waitFor('SEEN lines', (s) => liveLines(s, 'temperature_measured_observer', 'SEEN').length >= 8, 20_000);
    const seen = liveLines(screen, 'temperature_measured_observer', 'SEEN');
    assert.ok(seen.every((l) => / greenhouse\d:temperature_measured:v1 \(v\d+\) => \{"temperature":\d+\}$/.test(l)), seen.join('\n'));
    await term.keys('q');
    await term.waitFor('the menu again', /temperature_measured_observer: \d+ events, running[\s\S]*15\) Exit Console/);
  });

  it('scenario 3: a payload observer sees only John\'s actions', async () => {
    await term.enter('3');
    await term.waitFor('the pattern prompt', /Pattern \(JSON object\)/);
    await term.enter();
    await term.waitFor('the name prompt', /Enter observer name[^\n]*john_observer/);
    await term.enter();
    await term.waitFor('the observer', /Observer john_observer running/);
    // Scenario 3 generates with option 13 as well: one action of John's by hand, one of Mary's.
    await client.appendEvents(STORE, 'greenhouse9', [
      { eventType: 'desired_temperature_set:v1', data: { temperature: 19, operator: 'Mary' } },
      { eventType: 'desired_temperature_set:v1', data: { temperature: 21, operator: 'John' } },
    ]);
    await term.enter('5');
    await term.waitFor('the observer list', /Monitor which\?/);
    await term.enter('2');
    const screen = await term.waitFor('John\'s actions', (s) => liveLines(s, 'john_observer', 'SEEN').some((l) => l.includes('greenhouse9')), 20_000);
    const seen = liveLines(screen, 'john_observer', 'SEEN');
    assert.ok(seen.length >= 1);
    assert.ok(seen.every((l) => /_set:v1 \(v\d+\) => \{.*"operator":"John".*\}$/.test(l)), seen.join('\n'));
    await term.keys('q');
    await term.waitFor('the menu again', /john_observer: \d+ events[\s\S]*15\) Exit Console/);
  });

  it('scenario 4: a persistent subscription shows RECEIVED lines and its checkpoint moves with the acks', async () => {
    await term.enter('10');
    await term.waitFor('the name prompt', /Subscription name/);
    await term.enter('lights');
    await term.waitFor('the type prompt', /Subscription type/);
    await term.enter('2');
    await term.waitFor('the selector prompt', /Selector:/);
    await term.keys('C-u');
    await term.enter('light_measured:v1');
    await term.waitFor('the start prompt', /Start from global position/);
    await term.enter();
    const screen = await term.waitFor('RECEIVED lines', (s) => liveLines(s, 'lights', 'RECEIVED').length >= 5, 20_000);
    const received = liveLines(screen, 'lights', 'RECEIVED');
    assert.ok(received.every((l) => /^RECEIVED lights greenhouse\d:light_measured:v1 \(v\d+\) => \{"light":\d+\}/.test(l)), received.join('\n'));
    await term.keys('q');
    await term.waitFor('the menu again', /lights: \d+ events[\s\S]*15\) Exit Console/);

    let first = -1;
    await waitFor('a checkpoint', async () => {
      first = (await client.getSubscription(STORE, 'lights')).checkpoint;
      return first >= 0;
    });
    await waitFor('the checkpoint to move', async () => (await client.getSubscription(STORE, 'lights')).checkpoint > first);
    await term.enter('11');
    const table = await term.waitFor('the subscription table', /List Subscriptions\n.*\n.*NAME.*CHECKPOINT.*\n.*\n.*lights.*/, 10_000);
    const row = table.split('\n').findLast((l) => /│ lights /.test(l)) ?? '';
    assert.match(row, /by_event_type .*"light_measured:v1".*│ 0 +│ \d+ +│ running \d+ received, \d+ acked/, row);
  });

  it('a node that does not answer gives a message, and the menu stays', async () => {
    const dead = new TmuxTerminal();
    try {
      await dead.start(`'${process.execPath}' '${BIN}' console --url http://127.0.0.1:${await freePort()}; sleep 60`, {});
      await dead.waitFor('the message and the menu', /cannot reach the gater node at http:\/\/127\.0\.0\.1:\d+[\s\S]*15\) Exit Console/, 20_000);
      await dead.enter('12');
      await dead.waitFor('the message again', (s) => (s.match(/✖ cannot reach the gater node/g) ?? []).length >= 2 && /View Stream Data\n[\s\S]*15\) Exit Console/.test(s), 20_000);
      await dead.enter('15');
      await dead.waitFor('a clean exit', /Bye\./);
    } finally {
      await dead.close();
    }
  });

  it('exit stops every producer, observer and subscription; the console process ends', async () => {
    const [consolePid] = await term.children();
    assert.ok(consolePid !== undefined);
    await term.enter('15');
    await term.waitFor('the exit', /Bye\.[\s\S]*CONSOLE-EXITED 0/, 20_000);
    assert.throws(() => process.kill(consolePid, 0), { code: 'ESRCH' });
    const metrics = async (): Promise<string> => (await fetch(`${node.url}/metrics`)).text();
    await waitFor('no event stream open', async () => /^gater_http_event_streams 0$/m.test(await metrics()));
    // Nothing writes any more: the head stays where it is.
    const { lastPosition } = await client.getStore(STORE);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal((await client.getStore(STORE)).lastPosition, lastPosition);
  });
});
