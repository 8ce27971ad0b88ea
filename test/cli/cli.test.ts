/** The `gater` command as a user runs it: bin/gater.js in a child process. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runBin } from './cli-harness.ts';

const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };

describe('gater (bin/gater.js)', () => {
  it('prints its usage with --help and exits 0', async () => {
    const r = await runBin(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^gater: a cluster node for event-sourced systems\n/);
    for (const command of ['gater start', 'gater status', 'gater console']) assert.ok(r.stdout.includes(command), command);
    assert.equal(r.stderr, '');
  });

  it('prints the package version with --version', async () => {
    const r = await runBin(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `gater ${pkg.version}\n`);
  });

  it('lists every option in gater start --help', async () => {
    const r = await runBin(['start', '--help']);
    assert.equal(r.code, 0);
    for (const name of ['--node-name', 'GATER_CLUSTER_SECRET', 'EX_ESDB_STORE_ID', '--[no-]broadcast-only', '(default: 4001)']) {
      assert.ok(r.stdout.includes(name), name);
    }
  });

  it('exits 2 with usage on stderr without a command, and suggests a command for a typo', async () => {
    const none = await runBin([]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^gater: a cluster node/);
    const typo = await runBin(['stauts']);
    assert.equal(typo.code, 2);
    assert.equal(typo.stderr, 'gater: unknown command "stauts" (did you mean status?); see gater --help\n');
  });

  it('refuses to start on a configuration error: one line on stderr naming it, exit 2', async () => {
    const r = await runBin(['start', '--http-prot', '5000'], { GATER_GOSSIP_PROT: '1', GATER_DATA_DIR: '/nonexistent/never-created' });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'gater: invalid configuration: --http-prot is not a known flag (did you mean --http-port?); ' +
        'GATER_GOSSIP_PROT is not a gater setting (did you mean GATER_GOSSIP_PORT?)\n',
    );
  });

  it('refuses to start a node that leaves loopback without a secret, saying how to set one', async () => {
    const r = await runBin(['start'], { GATER_GOSSIP_IF: '0.0.0.0' });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
    assert.match(r.stderr, /clusterSecret is required because this node is reachable beyond loopback \(gossipIf is 0\.0\.0\.0, meshHost is 0\.0\.0\.0\): set GATER_CLUSTER_SECRET/);
  });

  it('gater console refuses a GATER_HTTP_PORT the node would refuse, naming it, when --url is not given', async () => {
    const r = await runBin(['console'], { GATER_HTTP_PORT: 'abc' });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'gater console: GATER_HTTP_PORT must be an integer from 0 to 65535 (got "abc")\n');
  });

  it('gater console without a terminal says so and exits 2 (test/console drives it in tmux)', async () => {
    const r = await runBin(['console', '--url', 'http://127.0.0.1:1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the console needs a terminal; for scripts use gater append, read, observe or produce/);
  });
});
