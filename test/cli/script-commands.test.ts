/**
 * The console's actions for scripts, as real `gater` processes against a real node: `append`, `read`, `observe` and
 * `produce` with their output (text and `--json`) and exit codes (0 done, 1 refused or unreachable, 2 bad input).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GaterClient } from '../../src/client/index.ts';
import { freePort } from '../support/gater-process.ts';
import type { TestApi } from '../support/real-api.ts';
import { withRealNodeClient } from '../client/support.ts';
import { runBin } from './cli-harness.ts';

describe('gater append, read, observe and produce', () => {
  let node: TestApi;
  let client: GaterClient;
  const gater = (...args: string[]) => runBin([...args, '--url', node.url], {}, 30_000);

  withRealNodeClient((n, c) => {
    node = n;
    client = c;
  });

  it('append: one event or several, text or JSON; a conflict exits 1 with the current version', async () => {
    const one = await gater('append', '--stream', 'g1', '--type', 'initialized:v1', '--data', '{"name":"g1"}', '--expected-version', 'no_stream', '--json');
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout), { version: 0, position: 0 });
    const many = await gater('append', '--stream', 'g1', '--events', '[{"eventType":"temperature_measured:v1","data":{"temperature":22}},{"eventType":"fan_activated:v1","data":{"intensity":75}}]');
    assert.equal(many.code, 0, many.stderr);
    assert.equal(many.stdout, 'appended 2 events to g1: version 2, position 2\n');
    const conflict = await gater('append', '--stream', 'g1', '--type', 'x', '--expected-version', '0', '--json');
    assert.equal(conflict.code, 1);
    assert.equal(conflict.stderr, '');
    const { error } = JSON.parse(conflict.stdout) as { error: { code: string; currentVersion: number } };
    assert.equal(error.code, 'wrong_expected_version');
    assert.equal(error.currentVersion, 2);
    assert.equal(await client.getVersion('default', 'g1'), 2);
  });

  it('append: bad input exits 2 and writes nothing', async () => {
    for (const args of [
      ['--stream', 'bad', '--type', 'x', '--data', '{nope'],
      ['--type', 'x'],
      ['--stream', 'bad'],
      ['--stream', 'bad', '--type', 'x', '--expected-version', 'sometimes'],
      ['--stream', 'bad', '--type', 'x', '--colour'],
    ]) {
      const result = await gater('append', ...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^gater append: /);
    }
    assert.equal(await client.getVersion('default', 'bad'), -1);
    const refused = await gater('append', '--stream', 'bad', '--type', '');
    assert.equal(refused.code, 1, 'the node refuses an empty event type');
    assert.match(refused.stderr, /invalid_argument: .*eventType/);
  });

  it('read: a stream forward or backward, $all with where the next page starts, a missing stream as empty', async () => {
    const forward = await gater('read', '--stream', 'g1');
    assert.equal(forward.code, 0, forward.stderr);
    assert.deepEqual(forward.stdout.trim().split('\n'), [
      '0 g1:initialized:v1 (v0) => {"name":"g1"}',
      '1 g1:temperature_measured:v1 (v1) => {"temperature":22}',
      '2 g1:fan_activated:v1 (v2) => {"intensity":75}',
    ]);
    const backward = JSON.parse((await gater('read', '--stream', 'g1', '--backward', '--count', '1', '--json')).stdout) as { events: { version: number }[] };
    assert.deepEqual(backward.events.map((e) => e.version), [2]);
    const all = JSON.parse((await gater('read', '--stream', '$all', '--from', '1', '--count', '1', '--json')).stdout) as { events: { position: number }[]; nextPosition: number };
    assert.deepEqual([all.events.map((e) => e.position), all.nextPosition], [[1], 2]);
    const missing = await gater('read', '--stream', 'nobody', '--json');
    assert.equal(missing.code, 0);
    assert.deepEqual(JSON.parse(missing.stdout), { events: [] });
  });

  it('number flags take decimal digits only, as the HTTP API does: anything else exits 2 naming the flag', async () => {
    const cases: [string[], string][] = [
      [['read', '--stream', 'g1', '--count', '1e2'], 'gater read: --count must be an integer from 1 to 10000 (got "1e2")'],
      [['read', '--stream', 'g1', '--count', '0x10'], 'gater read: --count must be an integer from 1 to 10000 (got "0x10")'],
      [['read', '--stream', 'g1', '--from', ' '], `gater read: --from must be an integer from 0 to ${Number.MAX_SAFE_INTEGER} (got " ")`],
      [['observe', '--count', '1.0'], `gater observe: --count must be an integer from 1 to ${Number.MAX_SAFE_INTEGER} (got "1.0")`],
      [['produce', '--streams', 'never', '--batches', '0b1'], `gater produce: --batches must be an integer from 1 to ${Number.MAX_SAFE_INTEGER} (got "0b1")`],
      [['produce', '--streams', 'never', '--rate', '0x10'], 'gater produce: --rate must be a number from 0.1 to 100 (got "0x10")'],
    ];
    for (const [args, message] of cases) {
      const result = await gater(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stderr, `${message}\n`);
      assert.equal(result.stdout, '');
    }
    assert.equal(await client.getVersion('default', 'never'), -1);
  });

  it('observe: only the events selected, until --count; fewer before --duration-ms exits 1', async () => {
    const from = (await client.getStore('default')).lastPosition + 1;
    await client.appendEvents('default', 'ops', [
      { eventType: 'desired_temperature_set:v1', data: { temperature: 19, operator: 'Mary' } },
      { eventType: 'desired_temperature_set:v1', data: { temperature: 21, operator: 'John' } },
      { eventType: 'light_measured:v1', data: { light: 80 } },
      { eventType: 'desired_light_set:v1', data: { light: 60, operator: 'John' } },
    ]);
    const john = await gater('observe', '--payload', '{"operator":"John"}', '--from', String(from), '--count', '2', '--json');
    assert.equal(john.code, 0, john.stderr);
    const lines = john.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: { data: { operator: string }; eventType: string } });
    assert.deepEqual(lines.map((l) => l.event.eventType), ['desired_temperature_set:v1', 'desired_light_set:v1']);
    assert.ok(lines.every((l) => l.event.data.operator === 'John'));
    const text = await gater('observe', '--type', 'light_measured:v1', '--from', String(from), '--count', '1');
    assert.equal(text.stdout, 'SEEN ops:light_measured:v1 (v2) => {"light":80}\n');
    const short = await gater('observe', '--type', 'never_happens:v1', '--count', '1', '--duration-ms', '300');
    assert.equal(short.code, 1);
    assert.match(short.stderr, /0 of 1 events within 300 ms/);
    const both = await gater('observe', '--type', 'a', '--stream', 'b');
    assert.equal(both.code, 2);
  });

  it('observe --subscription: RECEIVED lines, each acked', async () => {
    await client.saveSubscription('default', { type: 'by_stream', selector: 'g1', name: 'g1-sub' });
    const result = await gater('observe', '--subscription', 'g1-sub', '--count', '3');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n').map((l) => l.split(' => ')[0]), [
      'RECEIVED g1-sub g1:initialized:v1 (v0)',
      'RECEIVED g1-sub g1:temperature_measured:v1 (v1)',
      'RECEIVED g1-sub g1:fan_activated:v1 (v2)',
    ]);
    assert.equal((await client.getSubscription('default', 'g1-sub')).checkpoint, 2);
  });

  it('produce: batches of greenhouse events per stream, summed up in JSON', async () => {
    const result = await gater('produce', '--streams', 'p1,p2', '--rate', '50', '--batch', '3', '--batches', '2', '--json');
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as { appended: number; failures: number; streams: Record<string, { lastVersion: number }> };
    assert.equal(summary.appended, 12);
    assert.equal(summary.failures, 0);
    for (const stream of ['p1', 'p2']) {
      const events = await client.getEvents('default', stream);
      assert.equal(events.length, 6);
      assert.equal(events[0]!.eventType, 'initialized:v1');
      assert.equal(summary.streams[stream]!.lastVersion, 5);
    }
  });

  it('without --url ask the node GATER_HTTP_HOST and GATER_HTTP_PORT configure; a value the node would refuse exits 2 naming it', async () => {
    const port = new URL(node.url).port;
    const read = await runBin(['read', '--stream', 'g1', '--count', '1', '--json'], { GATER_HTTP_HOST: '0.0.0.0', GATER_HTTP_PORT: port });
    assert.equal(read.code, 0, read.stderr);
    assert.equal((JSON.parse(read.stdout) as { events: unknown[] }).events.length, 1);
    for (const command of [['append', '--stream', 'never', '--type', 't'], ['read', '--stream', 'g1'], ['observe'], ['produce', '--streams', 'never']]) {
      const result = await runBin(command, { GATER_HTTP_PORT: 'abc' });
      assert.equal(result.code, 2, `${command[0]}: ${result.stderr}`);
      assert.equal(result.stderr, `gater ${command[0]}: GATER_HTTP_PORT must be an integer from 0 to 65535 (got "abc")\n`);
    }
    assert.equal(await client.getVersion('default', 'never'), -1);
  });

  it('an unreachable node exits 1 with a message naming it', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const append = await runBin(['append', '--url', url, '--stream', 's', '--type', 't', '--timeout-ms', '300']);
    assert.equal(append.code, 1);
    assert.match(append.stderr, /unavailable: cannot reach the gater node at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
    const produce = await runBin(['produce', '--url', url, '--streams', 's', '--batches', '1', '--timeout-ms', '300']);
    assert.equal(produce.code, 1);
    assert.match(produce.stderr, /^gater produce: 1 appends failed; last: unavailable: cannot reach the gater node/);
  });

  it('with --json every failure is one JSON object {"error": {code, message}} on stdout, nothing on stderr, same exit code', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const unreachable = ['--url', url, '--timeout-ms', '300', '--json'];
    for (const args of [
      ['append', '--stream', 's', '--type', 't'],
      ['read', '--stream', 's'],
      ['observe', '--stream', 's'],
    ]) {
      const result = await runBin([...args, ...unreachable]);
      assert.equal(result.code, 1, `${args[0]}: ${result.stderr}`);
      assert.equal(result.stderr, '', args[0]);
      const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
      assert.equal(error.code, 'unavailable', args[0]);
      assert.match(error.message, /^cannot reach the gater node at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/, args[0]);
    }
    const produce = await runBin(['produce', '--streams', 's', '--batches', '1', ...unreachable]);
    assert.equal(produce.code, 1);
    assert.equal(produce.stderr, '');
    const summary = JSON.parse(produce.stdout) as { failures: number; error: { code: string; message: string } };
    assert.equal(summary.failures, 1);
    assert.equal(summary.error.code, 'unavailable');
    assert.match(summary.error.message, /^1 appends failed; last: cannot reach the gater node/);

    const short = await gater('observe', '--type', 'never_happens:v1', '--count', '1', '--duration-ms', '300', '--json');
    assert.equal(short.code, 1);
    assert.deepEqual(JSON.parse(short.stdout), { error: { code: 'timeout', message: '0 of 1 events within 300 ms' } });
    const usage = await gater('read', '--stream', 's', '--count', 'many', '--json');
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr, '');
    assert.deepEqual(JSON.parse(usage.stdout), { error: { code: 'invalid_argument', message: '--count must be an integer from 1 to 10000 (got "many")' } });
  });
});
