/**
 * The script commands piped into a reader that stops early (`| head -1`), as a shell runs them: real `gater`
 * processes against a real node. Once the reader is gone the command ends quietly with exit 0 (the subscription of
 * `observe` closed), never with an EPIPE stack trace and exit 1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GaterProcess, uniqueCluster, waitFor } from '../support/gater-process.ts';
import { BIN } from './cli-harness.ts';

const execFileAsync = promisify(execFile);

/** Far more output than a pipe buffers (64 KiB), so the command is still writing when `head` exits. */
const EVENTS = 1_500;
const BATCH = 500;
const PADDING = 'x'.repeat(200);

/** Runs `gater ARGS | head -1` in a shell; returns what head printed, gater's stderr and gater's exit status. */
async function pipedIntoHead(args: string[]): Promise<{ stdout: string; stderr: string; status: string }> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout, stderr } = await execFileAsync('/bin/sh', ['-c', `{ ${quoted}; echo "status $?" >&2; } | head -1`], {
    env: { PATH: process.env['PATH'] ?? '' },
    timeout: 30_000,
  });
  const lines = stderr.trimEnd().split('\n');
  return { stdout, stderr: lines.slice(0, -1).join('\n'), status: lines.at(-1)!.replace(/^status /, '') };
}

describe('gater read and observe piped into head -1', () => {
  const node = new GaterProcess({ name: 'pipe', cluster: uniqueCluster() });
  before(async () => {
    await node.start();
    for (let i = 0; i < EVENTS; i += BATCH) {
      const events = Array.from({ length: BATCH }, (_, j) => ({ eventType: 'reading:v1', data: { n: i + j, padding: PADDING } }));
      const { status } = await node.post(`/v1/stores/default/streams/pipe-${i / BATCH}/events`, { events });
      assert.equal(status, 200);
    }
  });
  after(() => node.close());

  it('read: the first line, then a quiet exit 0', async () => {
    const { stdout, stderr, status } = await pipedIntoHead(['read', '--url', node.url, '--stream', '$all', '--count', '1000']);
    assert.equal(stderr, '');
    assert.equal(status, '0');
    assert.match(stdout, /^0 pipe-0:reading:v1 \(v0\) => \{"n":0,/);
    assert.equal(stdout.split('\n').length, 2, 'one line');
  });

  it('observe: the first line, then the subscription closed and a quiet exit 0', async () => {
    const { stdout, stderr, status } = await pipedIntoHead(['observe', '--url', node.url, '--from', '0', '--count', '1000']);
    assert.equal(stderr, '');
    assert.equal(status, '0');
    assert.match(stdout, /^SEEN pipe-0:reading:v1 \(v0\) => \{"n":0,/);
    // The node no longer serves the subscription: its event stream was closed, not left to time out.
    await waitFor('the event stream to close', async () => /^gater_http_event_streams 0$/m.test(await (await fetch(`${node.url}/metrics`)).text()), 2_000);
  });
});
