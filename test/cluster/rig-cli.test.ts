/**
 * `scripts/rig` as a user runs it, a separate process per command: refused without root, then (as root) every
 * command on a two-host rig in a directory of the test's own, and `down` after the rig itself was SIGKILLed halfway
 * through `up`.
 *
 * Bounds: each command within 60 s (they take 0.1–4 s); the crash case kills `up` as soon as its first namespace
 * exists.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { listNamespaces } from '../../scripts/rig-lib/namespaces.ts';
import { Rig } from '../../scripts/rig-lib/rig.ts';
import { prefixFor, type RigState } from '../../scripts/rig-lib/state.ts';
import { waitFor } from '../support/gater-process.ts';
import { rigSkipReason, TEST_RIG_DIR_PREFIX } from '../support/rig-harness.ts';

const RIG = fileURLToPath(new URL('../../scripts/rig', import.meta.url));
const COMMAND_BOUND_MS = 60_000;
const NOBODY_UID = 65_534;
const skip = await rigSkipReason();

interface Ran {
  code: number | null;
  out: string;
  err: string;
}

function rig(args: readonly string[], options: { uid?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(RIG, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }) });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_BOUND_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** Whether a process runs: a zombie (dead, its exit status not yet collected by its new parent) does not. */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('scripts/rig without root', () => {
  it('refuses with a clear message', async () => {
    const asRoot = process.getuid?.() === 0;
    const ran = await rig(['status'], asRoot ? { uid: NOBODY_UID } : {});
    assert.equal(ran.code, 1);
    assert.match(ran.err, /must run as root/);
  });

  it('prints its usage for help, without needing root', async () => {
    const ran = await rig(['help'], process.getuid?.() === 0 ? { uid: NOBODY_UID } : {});
    assert.equal(ran.code, 0);
    for (const command of ['up N', 'status', 'kill I', 'start I', 'partition I', 'heal I', 'loss I PCT', 'exec I CMD', 'down']) {
      assert.ok(ran.out.includes(command), `usage names ${command}`);
    }
  });
});

describe('scripts/rig as root', { skip }, () => {
  let dir: string;
  let base: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `${TEST_RIG_DIR_PREFIX}cli-`));
    base = ['--dir', dir];
  });
  after(async () => {
    await Rig.down({ dir });
  });

  it('rejects bad usage with exit code 2', async () => {
    assert.equal((await rig([...base, 'frobnicate'])).code, 2);
    assert.equal((await rig([...base, 'up'])).code, 2);
    assert.equal((await rig([...base, 'up', '2', '--broadcast', '--multicast'])).code, 2);
    const none = await rig([...base, 'status']);
    assert.equal(none.code, 1);
    assert.match(none.err, /no rig is up/);
  });

  it('up: two hosts, a table of hosts, addresses and endpoints, once the cluster formed', async () => {
    const ran = await rig([...base, 'up', '2', '--gateways', '1', '--env', 'GATER_GOSSIP_INTERVAL_MS=500']);
    assert.equal(ran.code, 0, ran.err + ran.out);
    assert.match(ran.out, /gater-1\s+store\s+198\.18\.0\.11\s+http:\/\/198\.18\.0\.11:4001/);
    assert.match(ran.out, /gater-2\s+gateway\s+198\.18\.0\.12/);
    assert.match(ran.out, /cluster formed in/);
    const prefix = `${prefixFor(dir)}-`;
    assert.deepEqual((await listNamespaces()).filter((n) => n.startsWith(prefix)).sort(), [`${prefix}br`, `${prefix}h1`, `${prefix}h2`]);
    assert.equal((await rig([...base, 'up', '2'])).code, 1, 'a second up in the same directory is refused');
  });

  it('status, exec and logs', async () => {
    const status = await rig([...base, 'status', '--json']);
    assert.equal(status.code, 0, status.err);
    const hosts = JSON.parse(status.out) as { running: boolean; view: { peers: { state: string }[] } }[];
    assert.deepEqual(hosts.map((h) => [h.running, h.view.peers.map((p) => p.state)]), [[true, ['alive']], [true, ['alive']]]);
    const table = await rig([...base, 'status']);
    assert.match(table.out, /gater-2\s+gateway\s+198\.18\.0\.12\s+\d+\s+running\s+1\/1/);
    const addr = await rig([...base, 'exec', '2', 'ip', '-br', 'addr', 'show', 'eth0']);
    assert.match(addr.out, /198\.18\.0\.12\/24/);
    assert.equal((await rig([...base, 'exec', '1', 'sh', '-c', 'exit 3'])).code, 3, 'exec passes the exit code on');
    const gater = await rig([...base, 'exec', '1', 'gater', 'status', '--json']);
    assert.equal(gater.code, 0, gater.err);
    assert.equal((JSON.parse(gater.out) as { cluster: { self: { name: string } } }).cluster.self.name, 'gater-1');
    assert.match((await rig([...base, 'logs', '1', '--lines', '5'])).out, /node\.log/);
  });

  it('loss, partition and heal, kill and start', async () => {
    assert.equal((await rig([...base, 'loss', '2', '50', '--udp'])).code, 0);
    assert.match((await rig([...base, 'status'])).out, /50% udp, \d+ dropped/);
    assert.equal((await rig([...base, 'loss', '2', '0'])).code, 0);
    assert.equal((await rig([...base, 'partition', '2'])).code, 0);
    assert.match((await rig([...base, 'status'])).out, /gater-2 .*partitioned/);
    await waitFor('gater-1 to see gater-2 dead', async () => {
      const hosts = JSON.parse((await rig([...base, 'status', '--json'])).out) as { view?: { peers: { state: string }[] } }[];
      return hosts[0]?.view?.peers[0]?.state === 'dead';
    }, 20_000, 200);
    assert.equal((await rig([...base, 'heal', '2'])).code, 0);
    const killed = await rig([...base, 'kill', '2']);
    assert.equal(killed.code, 0, killed.err);
    assert.match((await rig([...base, 'status'])).out, /gater-2\s+gateway\s+198\.18\.0\.12\s+-\s+stopped/);
    const started = await rig([...base, 'start', '2']);
    assert.equal(started.code, 0, started.err + started.out);
    assert.match(started.out, /gater-2 started \(PID \d+\) and rejoined/);
  });

  it('down removes every namespace, process and file', async () => {
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as RigState;
    const pids = state.hosts.flatMap((h) => [h.pid, h.proxyPid]).filter((p): p is number => p !== undefined);
    assert.equal(pids.length, 4);
    const ran = await rig([...base, 'down']);
    assert.equal(ran.code, 0, ran.err);
    assert.match(ran.out, /4 processes killed, 3 namespaces deleted/);
    assert.deepEqual((await listNamespaces()).filter((n) => n.startsWith(prefixFor(dir))), []);
    assert.deepEqual(pids.filter(pidAlive), []);
    assert.equal(existsSync(dir), false);
  });

  it('down cleans up after the rig itself was killed in the middle of up', async () => {
    const prefix = prefixFor(dir);
    const child = spawn(RIG, [...base, 'up', '2'], { stdio: 'ignore' });
    await waitFor('up to start its nodes', () => existsSync(join(dir, 'hosts', 'gater-2', 'node.log')), 30_000, 20);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));
    const left = (await listNamespaces()).filter((n) => n.startsWith(prefix));
    assert.ok(left.length >= 2, `the killed up left namespaces behind (${left.join(', ')})`);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as RigState;
    const pids = state.hosts.flatMap((h) => [h.pid, h.proxyPid]).filter((p): p is number => p !== undefined);
    const ran = await rig([...base, 'down']);
    assert.equal(ran.code, 0, ran.err);
    assert.deepEqual((await listNamespaces()).filter((n) => n.startsWith(prefix)), []);
    assert.deepEqual(pids.filter(pidAlive), []);
    assert.equal(existsSync(dir), false);
  });
});
