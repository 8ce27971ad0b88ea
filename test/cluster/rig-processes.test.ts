/**
 * What `rig down` finds after the rig itself was killed at the worst moment: an `ip netns exec` launcher that has not
 * entered its namespace yet (so no namespace lists it), and a state file half saved. Neither needs root: the launcher
 * is stood in for by a shell whose command line reads `ip netns exec <namespace>` (argv0 `ip`, reading a script named
 * `netns` that waits on its standard input), which is all `down` goes by.
 *
 * Bounds: one short-lived shell per test, killed by PID.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isRigProcess, killInNamespace, launcherPids, launchingInto } from '../../scripts/rig-lib/processes.ts';
import { removeState, saveState, STATE_VERSION, type RigState } from '../../scripts/rig-lib/state.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gater-rig-processes-'));
  dirs.push(dir);
  return dir;
}

/** A process whose command line is `ip netns exec <namespace>`, blocked until killed. */
async function fakeLauncher(namespace: string): Promise<ChildProcess> {
  const dir = tempDir();
  writeFileSync(join(dir, 'netns'), 'read line\n');
  const child = spawn('/bin/sh', ['netns', 'exec', namespace], { argv0: 'ip', cwd: dir, stdio: ['pipe', 'ignore', 'ignore'] });
  after(() => child.kill('SIGKILL'));
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  return child;
}

describe('rig processes', () => {
  it('an ip netns exec launcher is recognised by the namespace it is going into, and only by that', async () => {
    const child = await fakeLauncher('grtest0001-h2');
    assert.equal(launchingInto(child.pid!), 'grtest0001-h2');
    assert.equal(isRigProcess(child.pid!, 'grtest0001-h2'), true);
    assert.equal(isRigProcess(child.pid!, 'grtest0001-h1'), false);
    assert.equal(launchingInto(process.pid), undefined);
    assert.deepEqual(launcherPids('grtest0001'), [{ pid: child.pid!, namespace: 'grtest0001-h2' }]);
    assert.deepEqual(launcherPids('grtest0002'), []);
  });

  it('killInNamespace kills a launcher that has not entered its namespace yet, and waits until it is gone', async () => {
    const child = await fakeLauncher('grtest0003-h1');
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    assert.equal(await killInNamespace(child.pid!, 'grtest0003-h1'), true);
    assert.equal(await exited, 'SIGKILL');
    assert.equal(await killInNamespace(child.pid!, 'grtest0003-h1'), false);
  });

  it('removeState removes the state file and temporaries a killed save left, nothing else', () => {
    const dir = tempDir();
    const state: RigState = {
      version: STATE_VERSION,
      dir,
      prefix: 'grtest0004',
      bridgeNamespace: 'grtest0004-br',
      clusterName: 'rig',
      secret: 'x',
      mode: 'broadcast',
      env: {},
      createdAt: new Date(0).toISOString(),
      hosts: [],
    };
    saveState(state);
    writeFileSync(join(dir, 'state.json.12345.tmp'), '{"half');
    writeFileSync(join(dir, 'notes.txt'), 'the user’s own');
    removeState(dir);
    assert.deepEqual(readdirSync(dir), ['notes.txt']);
    removeState(join(dir, 'missing'));
    assert.equal(existsSync(join(dir, 'missing')), false);
  });
});
