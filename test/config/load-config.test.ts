import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ConfigError,
  loadConfig,
  loadConfigReport,
  redactConfig,
  type ConfigIssue,
  type LoadConfigInput,
} from '../../src/config/index.ts';

const SECRET = 'a-secret-of-sufficient-length-42';
const HOST = 'test-host';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gater-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh working directory, optionally with config/gater.json. */
async function workdir(file?: unknown): Promise<string> {
  const cwd = await mkdtemp(join(dir, 'cwd-'));
  if (file !== undefined) {
    await mkdir(join(cwd, 'config'));
    await writeFile(join(cwd, 'config', 'gater.json'), typeof file === 'string' ? file : JSON.stringify(file));
  }
  return cwd;
}

function load(input: Partial<LoadConfigInput> & { cwd: string }) {
  return loadConfig({ env: {}, hostname: HOST, ...input });
}

/** The issues of the ConfigError `fn` throws. */
function issuesOf(fn: () => unknown): readonly ConfigIssue[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'invalid_argument');
    assert.equal(err.data['field'], err.issues[0]?.field);
    assert.ok(!err.message.includes('\n'), 'the message is one line');
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

function assertIssue(issues: readonly ConfigIssue[], field: string, pattern: RegExp): void {
  const issue = issues.find((i) => i.field === field);
  assert.ok(issue, `no issue for ${field} in ${JSON.stringify(issues)}`);
  assert.match(issue.message, pattern);
}

describe('loadConfig: defaults', () => {
  it('gives every option its named default, the host name as node name, and gossip on loopback', async () => {
    const cwd = await workdir();
    const c = load({ cwd });
    assert.deepEqual(
      { ...c },
      {
        nodeName: HOST,
        dataDir: join(cwd, 'data'),
        stores: ['default'],
        storeBackend: 'sqlite',
        pgUrl: undefined,
        gatewayPoolSize: 1,
        sqliteSynchronous: 'FULL',
        httpHost: '0.0.0.0',
        httpPort: 4001,
        callTimeoutMs: 5000,
        logLevel: 'info',
        logFormat: 'auto',
        clusterName: 'gater',
        clusterSecret: undefined,
        clusterSecretPrevious: [],
        gossipPort: 45892,
        gossipAddr: '239.255.43.21',
        gossipIf: '127.0.0.1',
        broadcastOnly: false,
        gossipMulticast: true,
        seeds: [],
        gossipIntervalMs: 1000,
        meshPort: 0,
        meshHost: '127.0.0.1',
      },
    );
  });

  it('is deeply frozen', async () => {
    const c = load({ cwd: await workdir(), env: { GATER_SEEDS: '127.0.0.1:1000' } });
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.stores));
    assert.ok(Object.isFrozen(c.seeds));
    assert.ok(Object.isFrozen(c.seeds[0]));
    assert.throws(() => {
      (c as { httpPort: number }).httpPort = 1;
    }, TypeError);
    assert.throws(() => (c.stores as string[]).push('x'), TypeError);
    assert.throws(() => {
      (c.seeds[0] as { port: number }).port = 2;
    }, TypeError);
  });
});

describe('loadConfig: precedence defaults < file < env < flags', () => {
  it('each layer overrides the one below, option by option', async () => {
    const cwd = await workdir({ httpPort: 5001, gatewayPoolSize: 2, callTimeoutMs: 7000, nodeName: 'from-file' });
    const env = { GATER_GATEWAY_POOL_SIZE: '3', GATER_CALL_TIMEOUT_MS: '8000' };
    const argv = ['--call-timeout-ms', '9000'];
    const report = loadConfigReport({ cwd, env, argv, hostname: HOST });
    const c = report.config;
    assert.equal(c.nodeName, 'from-file'); // file over default
    assert.equal(c.httpPort, 5001); // file over default
    assert.equal(c.gatewayPoolSize, 3); // env over file
    assert.equal(c.callTimeoutMs, 9000); // flag over env over file
    assert.equal(c.logLevel, 'info'); // nothing set: default
    assert.equal(report.file, join(cwd, 'config', 'gater.json'));
    assert.deepEqual(report.sources.callTimeoutMs, { layer: 'flag', name: '--call-timeout-ms' });
    assert.deepEqual(report.sources.gatewayPoolSize, { layer: 'env', name: 'GATER_GATEWAY_POOL_SIZE' });
    assert.deepEqual(report.sources.httpPort, { layer: 'file', name: 'config/gater.json: httpPort' });
    assert.deepEqual(report.sources.logLevel, { layer: 'default', name: 'logLevel' });
  });

  it('reads the file named by --config over GATER_CONFIG over config/gater.json', async () => {
    const cwd = await workdir({ httpPort: 5001 });
    await writeFile(join(cwd, 'env.json'), JSON.stringify({ httpPort: 5002 }));
    await writeFile(join(cwd, 'flag.json'), JSON.stringify({ httpPort: 5003 }));
    assert.equal(load({ cwd }).httpPort, 5001);
    assert.equal(load({ cwd, env: { GATER_CONFIG: 'env.json' } }).httpPort, 5002);
    assert.equal(load({ cwd, env: { GATER_CONFIG: 'env.json' }, argv: ['--config', 'flag.json'] }).httpPort, 5003);
  });

  it('refuses a named config file that does not exist, but not a missing default one', async () => {
    const cwd = await workdir();
    assert.equal(load({ cwd }).httpPort, 4001);
    assertIssue(issuesOf(() => load({ cwd, argv: ['--config', 'nope.json'] })), '--config', /cannot be read \(ENOENT/);
    assertIssue(issuesOf(() => load({ cwd, env: { GATER_CONFIG: 'nope.json' } })), 'GATER_CONFIG', /ENOENT/);
  });

  it('refuses a file that is not JSON, or not an object', async () => {
    const notJson = await workdir('{ "httpPort": 1, }');
    assertIssue(issuesOf(() => load({ cwd: notJson })), 'config/gater.json', /is not valid JSON \(line 1, column \d+\)/);
    // V8's own message quotes the text around the error: here, the secret.
    for (const text of [`{"clusterSecret": 'TOPSECRET-abcdefghijklmnop'}`, '{"clusterSecret": TOPSECRET-abcdefghijklmnop}']) {
      const leaky = await workdir(text);
      const found = issuesOf(() => load({ cwd: leaky }));
      assertIssue(found, 'config/gater.json', /is not valid JSON/);
      assert.ok(!JSON.stringify(found).includes('TOPSECRET'), JSON.stringify(found));
    }
    const array = await workdir([1, 2]);
    assertIssue(issuesOf(() => load({ cwd: array })), 'config/gater.json', /must hold a JSON object/);
  });

  it('treats null in the file as not set, so the example file loads to the defaults', async () => {
    const cwd = await workdir();
    const example = join(import.meta.dirname, '..', '..', 'config', 'gater.example.json');
    assert.deepEqual(load({ cwd, argv: ['--config', example] }), load({ cwd }));
  });
});

describe('loadConfig: environment', () => {
  it('accepts the seed EX_ESDB_* names as aliases, and the GATER_ name wins when both are set', async () => {
    const cwd = await workdir();
    const seedOnly = loadConfigReport({
      cwd,
      hostname: HOST,
      env: {
        EX_ESDB_CLUSTER_SECRET: SECRET,
        EX_ESDB_STORE_ID: 'reg_gh',
        EX_ESDB_DATA_DIR: '/srv/gater',
        EX_ESDB_TIMEOUT: '15000',
        EX_ESDB_GOSSIP_PORT: '46001',
        EX_ESDB_GOSSIP_MULTICAST_ADDR: '239.1.2.3',
        LOG_LEVEL: 'debug',
      },
    }).config;
    assert.equal(seedOnly.clusterSecret, SECRET);
    assert.deepEqual(seedOnly.stores, ['reg_gh']);
    assert.equal(seedOnly.dataDir, '/srv/gater');
    assert.equal(seedOnly.callTimeoutMs, 15000);
    assert.equal(seedOnly.gossipPort, 46001);
    assert.equal(seedOnly.gossipAddr, '239.1.2.3');
    assert.equal(seedOnly.logLevel, 'debug');

    const both = loadConfigReport({
      cwd,
      hostname: HOST,
      env: { EX_ESDB_STORE_ID: 'seed', GATER_STORES: 'gater', LOG_LEVEL: 'debug', GATER_LOG_LEVEL: 'warn' },
    });
    assert.deepEqual(both.config.stores, ['gater']);
    assert.equal(both.config.logLevel, 'warn');
    assert.ok(both.warnings.includes('EX_ESDB_STORE_ID is ignored because GATER_STORES is set'), both.warnings.join('\n'));
    assert.ok(both.warnings.includes('LOG_LEVEL is ignored because GATER_LOG_LEVEL is set'));
    // Empty, as docker compose passes an unset ${VAR}: not set, like any single value (not "no stores").
    const empty = loadConfigReport({ cwd, hostname: HOST, env: { EX_ESDB_STORE_ID: '' } });
    assert.deepEqual(empty.config.stores, loadConfigReport({ cwd, hostname: HOST, env: {} }).config.stores);
    assert.notDeepEqual(empty.config.stores, []);
  });

  it('warns about, and does not refuse, the seed variables gater does not read', async () => {
    const report = loadConfigReport({
      cwd: await workdir(),
      env: { EX_ESDB_COOKIE: 'cookie', EX_ESDB_PUB_SUB: 'ex_esdb_pubsub', EX_ESDB_SOMETHING_NEW: '1' },
    });
    assert.equal(report.warnings.length, 3);
    assert.match(report.warnings.join('\n'), /EX_ESDB_COOKIE is ignored: gater has no Erlang distribution/);
    assert.match(report.warnings.join('\n'), /EX_ESDB_SOMETHING_NEW is ignored/);
    assert.ok(!report.warnings.join('\n').includes('cookie'), 'the value of a variable is never repeated');
  });

  it('distinguishes GATER_STORES unset (default) from set but empty (a pure gateway)', async () => {
    const cwd = await workdir();
    assert.deepEqual(load({ cwd }).stores, ['default']);
    assert.deepEqual(load({ cwd, env: { GATER_STORES: '' } }).stores, []);
    assert.deepEqual(load({ cwd, env: { GATER_STORES: ' a , b-2,c_3 ' } }).stores, ['a', 'b-2', 'c_3']);
    assert.deepEqual(load({ cwd, argv: ['--stores', ''] }).stores, []);
    assert.deepEqual(load({ cwd: await workdir({ stores: [] }) }).stores, []);
  });

  it('takes an empty scalar variable as not set', async () => {
    const cwd = await workdir({ httpPort: 5001 });
    assert.equal(load({ cwd, env: { GATER_HTTP_PORT: '', GATER_CLUSTER_SECRET: '' } }).httpPort, 5001);
  });

  it('reads booleans as true/false/1/0/yes/no, in any case', async () => {
    const cwd = await workdir();
    const broadcast = (value: string) =>
      load({ cwd, env: { GATER_BROADCAST_ONLY: value, GATER_CLUSTER_SECRET: SECRET } }).broadcastOnly;
    for (const yes of ['true', '1', 'yes', 'YES', 'True']) assert.equal(broadcast(yes), true, yes);
    for (const no of ['false', '0', 'no', 'No']) assert.equal(broadcast(no), false, no);
    assertIssue(issuesOf(() => broadcast('maybe')), 'GATER_BROADCAST_ONLY', /must be true or false.*\(got "maybe"\)/);
  });

  it('refuses an unknown GATER_ variable and suggests the closest known one', async () => {
    const cwd = await workdir();
    const issues = issuesOf(() => load({ cwd, env: { GATER_STORE: 'a', GATER_HTTP_PROT: '1', GATER_ZZZZZZZZZZ: '1', PATH: '/bin' } }));
    assertIssue(issues, 'GATER_STORE', /^is not a gater setting \(did you mean GATER_STORES\?\)$/);
    assertIssue(issues, 'GATER_HTTP_PROT', /did you mean GATER_HTTP_PORT\?/);
    assertIssue(issues, 'GATER_ZZZZZZZZZZ', /^is not a gater setting$/);
    assert.equal(issues.length, 3, 'variables without the GATER_ prefix are not gater\'s business');
  });

  it("lets through the GATER_ variables of the project's tools, which the node does not read", async () => {
    const cwd = await workdir();
    const report = loadConfigReport({ cwd, env: { GATER_RIG_DIR: '/tmp/my-rig', GATER_STORES: 'a' } });
    assert.deepEqual(report.config.stores, ['a']);
    assert.deepEqual(report.warnings, []);
  });
});

describe('loadConfig: file and flags', () => {
  it('refuses an unknown key in the file and suggests the closest', async () => {
    const cwd = await workdir({ http_port: 1, gossipIntervalMS: 5, stores: ['a'] });
    const issues = issuesOf(() => load({ cwd }));
    assertIssue(issues, 'config/gater.json: http_port', /is not a known option \(did you mean httpPort\?\)/);
    assertIssue(issues, 'config/gater.json: gossipIntervalMS', /did you mean gossipIntervalMs\?/);
    assert.equal(issues.length, 2);
  });

  it('refuses an unknown flag and suggests the closest, without mistaking its value for an argument', async () => {
    const cwd = await workdir();
    const issues = issuesOf(() => load({ cwd, argv: ['--http-prot', '5000', '--stores', 'a'] }));
    assert.deepEqual(issues, [{ field: '--http-prot', message: 'is not a known flag (did you mean --http-port?)' }]);
  });

  it('refuses a flag without its value and a stray argument', async () => {
    const cwd = await workdir();
    const issues = issuesOf(() => load({ cwd, argv: ['stray', '--http-port', '1', '--data-dir'] }));
    assertIssue(issues, '"stray"', /is not a flag/);
    assertIssue(issues, '--data-dir', /needs a value/);
    assert.equal(issues.length, 2);
    assertIssue(issuesOf(() => load({ cwd, argv: ['--data-dir', '--http-port', '1'] })), '--data-dir', /needs a value/);
  });

  it('takes switches as --x, --no-x and --x=value', async () => {
    const cwd = await workdir({ broadcastOnly: true, clusterSecret: SECRET });
    assert.equal(load({ cwd }).broadcastOnly, true);
    assert.equal(load({ cwd, argv: ['--no-broadcast-only'] }).broadcastOnly, false);
    assert.equal(load({ cwd, argv: ['--broadcast-only=no'] }).broadcastOnly, false);
    assert.equal(load({ cwd, env: { GATER_BROADCAST_ONLY: '0' }, argv: ['--broadcast-only'] }).broadcastOnly, true);
  });

  it('has no flag for a secret, and says why without repeating the secret', async () => {
    const cwd = await workdir();
    for (const argv of [['--cluster-secret', SECRET], [`--cluster-secret=${SECRET}`]]) {
      try {
        load({ cwd, argv });
        assert.fail('a secret flag was accepted');
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.issues.map((i) => i.field), ['--cluster-secret']);
        assert.match(err.message, /process list\): set GATER_CLUSTER_SECRET instead/);
        assert.ok(!JSON.stringify([err.message, err.data]).includes(SECRET), 'the secret is repeated');
      }
    }
  });
});

describe('loadConfig: values', () => {
  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['port out of range', { GATER_HTTP_PORT: '65536' }, 'GATER_HTTP_PORT', /integer from 0 to 65535 \(got "65536"\)/],
    ['port not a number', { GATER_GOSSIP_PORT: '45892x' }, 'GATER_GOSSIP_PORT', /integer from 1 to 65535/],
    ['fractional number', { GATER_CALL_TIMEOUT_MS: '1.5' }, 'GATER_CALL_TIMEOUT_MS', /integer from 1 to 600000/],
    ['pool size 0', { GATER_GATEWAY_POOL_SIZE: '0' }, 'GATER_GATEWAY_POOL_SIZE', /integer from 1 to 64/],
    ['pool size 65', { GATER_GATEWAY_POOL_SIZE: '65' }, 'GATER_GATEWAY_POOL_SIZE', /integer from 1 to 64/],
    ['backend', { GATER_STORE_BACKEND: 'mysql' }, 'GATER_STORE_BACKEND', /one of sqlite, postgres \(got "mysql"\)/],
    ['synchronous', { GATER_SQLITE_SYNCHRONOUS: 'OFF' }, 'GATER_SQLITE_SYNCHRONOUS', /one of FULL, NORMAL/],
    ['log level', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', /one of fatal, error, warn, info, debug, trace, silent/],
    ['log format', { GATER_LOG_FORMAT: 'xml' }, 'GATER_LOG_FORMAT', /one of auto, json, pretty/],
    ['store id', { GATER_STORES: 'ok,not ok' }, 'GATER_STORES', /item 2 must be a store id/],
    ['store id too long', { GATER_STORES: 'x'.repeat(65) }, 'GATER_STORES', /item 1 must be a store id/],
    ['repeated store', { GATER_STORES: 'a,b,a' }, 'GATER_STORES', /item 3 repeats an earlier one/],
    ['seed store id list', { EX_ESDB_STORE_ID: 'a,b' }, 'EX_ESDB_STORE_ID', /^must be one store id \(\[A-Za-z0-9_-\]\{1,64\}\); for several, or none, set GATER_STORES \(got "a,b"\)$/],
    ['seed store id', { EX_ESDB_STORE_ID: 'not ok' }, 'EX_ESDB_STORE_ID', /^must be one store id .*\(got "not ok"\)$/],
    ['seed without port', { GATER_SEEDS: '127.0.0.1' }, 'GATER_SEEDS', /item 1 must be host:port/],
    ['seed port', { GATER_SEEDS: '127.0.0.1:0' }, 'GATER_SEEDS', /item 1 must be host:port \(the port must be an integer from 1/],
    ['seed host', { GATER_SEEDS: 'a_b:1' }, 'GATER_SEEDS', /item 1 must be host:port \(the host must be an IPv4 address or a host name\)/],
    ['IPv6 seed', { GATER_SEEDS: '[::1]:45999' }, 'GATER_SEEDS', /item 1 must be host:port with an IPv4 address or a host name \(gossip is IPv4 only\) \(got "\[::1\]:45999"\)/],
    ['bare IPv6 seed', { GATER_SEEDS: 'fd00::7:45892' }, 'GATER_SEEDS', /gossip is IPv4 only/],
    ['mesh host name', { GATER_MESH_HOST: 'localhost' }, 'GATER_MESH_HOST', /must be an IP address \(got "localhost"\)/],
    ['gossip interface', { GATER_GOSSIP_IF: 'eth0' }, 'GATER_GOSSIP_IF', /an IPv4 address \(got "eth0"\)/],
    ['http host', { GATER_HTTP_HOST: 'not a host' }, 'GATER_HTTP_HOST', /an IP address or a host name/],
    ['cluster name', { GATER_CLUSTER_NAME: 'has space' }, 'GATER_CLUSTER_NAME', /a name of letters/],
    ['node name', { GATER_NODE_NAME: '-leading' }, 'GATER_NODE_NAME', /a name of letters/],
    ['pg url', { GATER_STORE_BACKEND: 'postgres', GATER_PG_URL: 'mysql://x/y' }, 'GATER_PG_URL', /a URL starting with postgres:\/\//],
  ];
  for (const [what, env, field, pattern] of cases) {
    it(`names a bad value: ${what}`, async () => {
      const cwd = await workdir();
      assertIssue(issuesOf(() => load({ cwd, env })), field, pattern);
    });
  }

  it('names a bad value in the file and in a flag by where it was written', async () => {
    const cwd = await workdir({ httpPort: 'high', seeds: ['127.0.0.1:1', 7] });
    const issues = issuesOf(() => load({ cwd, argv: ['--mesh-port', '-1'] }));
    assertIssue(issues, 'config/gater.json: httpPort', /integer from 0 to 65535 \(got "high"\)/);
    assertIssue(issues, 'config/gater.json: seeds', /item 2 must be host:port/);
    // A negative number is the flag's value, not the next flag, and is judged as one.
    assertIssue(issues, '--mesh-port', /integer from 0 to 65535/);
    const plain = await workdir();
    assertIssue(issuesOf(() => load({ cwd: plain, argv: ['--mesh-port=-1'] })), '--mesh-port', /integer from 0 to 65535 \(got "-1"\)/);
  });

  it('validates a value even when a higher layer overrides it', async () => {
    const cwd = await workdir({ httpPort: 'high' });
    assertIssue(issuesOf(() => load({ cwd, env: { GATER_HTTP_PORT: '4002' } })), 'config/gater.json: httpPort', /got "high"/);
  });

  it('reports every problem at once', async () => {
    const cwd = await workdir();
    const issues = issuesOf(() =>
      load({ cwd, env: { GATER_HTTP_PORT: 'x', GATER_MESH_PORT: 'y', GATER_STORES: '!' }, argv: ['--config', 'none.json'] }),
    );
    assert.deepEqual(issues.map((i) => i.field).sort(), ['--config', 'GATER_HTTP_PORT', 'GATER_MESH_PORT', 'GATER_STORES']);
  });

  it('parses seeds into host and port: IPv4 addresses and host names', async () => {
    const c = load({
      cwd: await workdir(),
      env: { GATER_SEEDS: 'localhost:1000, 127.0.0.2:45892,gater-peers:7', GATER_CLUSTER_NAME: 'c1', GATER_CLUSTER_SECRET: SECRET },
    });
    assert.deepEqual(c.seeds, [
      { host: 'localhost', port: 1000 },
      { host: '127.0.0.2', port: 45892 },
      { host: 'gater-peers', port: 7 },
    ]);
  });

  it('takes an IPv4 or IPv6 address for the mesh host', async () => {
    const cwd = await workdir();
    assert.equal(load({ cwd, env: { GATER_MESH_HOST: '::1' } }).meshHost, '::1');
    assert.equal(load({ cwd, env: { GATER_MESH_HOST: '0.0.0.0', GATER_CLUSTER_SECRET: SECRET } }).meshHost, '0.0.0.0');
  });

  it('resolves a relative dataDir against the working directory and normalises words', async () => {
    const cwd = await workdir();
    const c = load({ cwd, env: { GATER_DATA_DIR: 'state/n1', GATER_SQLITE_SYNCHRONOUS: 'normal', GATER_LOG_LEVEL: 'DEBUG' } });
    assert.equal(c.dataDir, join(cwd, 'state', 'n1'));
    assert.equal(c.sqliteSynchronous, 'NORMAL');
    assert.equal(c.logLevel, 'debug');
  });
});

describe('loadConfig: rules across options', () => {
  it('needs pgUrl with the postgres backend', async () => {
    const cwd = await workdir();
    assertIssue(issuesOf(() => load({ cwd, env: { GATER_STORE_BACKEND: 'postgres' } })), 'pgUrl', /required when storeBackend is postgres \(GATER_STORE_BACKEND\): set GATER_PG_URL/);
    const c = load({ cwd, env: { GATER_STORE_BACKEND: 'postgres', GATER_PG_URL: 'postgres://u:pw@db:5432/gater' } });
    assert.equal(c.pgUrl, 'postgres://u:pw@db:5432/gater');
  });

  it('says what is wrong with a PostgreSQL URL whose port is out of range, without the password, and not that it is missing', async () => {
    const cwd = await workdir();
    for (const pgUrl of ['postgresql://u:pw-5678@127.0.0.1:99999/db', 'postgres://u:pw-5678@[::1]:65536/db', 'postgres://u:pw-5678@db:0/db']) {
      const issues = issuesOf(() => load({ cwd, env: { GATER_STORE_BACKEND: 'postgres', GATER_PG_URL: pgUrl } }));
      assert.deepEqual(issues, [{ field: 'GATER_PG_URL', message: 'must have a port from 1 to 65535' }], pgUrl);
    }
    assert.equal(load({ cwd, env: { GATER_STORE_BACKEND: 'postgres', GATER_PG_URL: 'postgres://u:pw@db:65535/db' } }).pgUrl, 'postgres://u:pw@db:65535/db');
  });

  it('does not call a secret missing when one was given and refused', async () => {
    const cwd = await workdir();
    const short = 'fifteen-bytes!!';
    const exposed = issuesOf(() => load({ cwd, env: { GATER_CLUSTER_SECRET: short, GATER_GOSSIP_IF: '10.0.0.5' } }));
    assert.deepEqual(exposed.map((i) => i.field), ['GATER_CLUSTER_SECRET']);
    const rotating = issuesOf(() => load({ cwd, env: { GATER_CLUSTER_SECRET: short, GATER_CLUSTER_SECRET_PREVIOUS: SECRET } }));
    assert.deepEqual(rotating.map((i) => i.field), ['GATER_CLUSTER_SECRET']);
  });

  it('matches the gossip address to the transport', async () => {
    const cwd = await workdir();
    const secret = { GATER_CLUSTER_SECRET: SECRET };
    assert.equal(load({ cwd, env: { ...secret, GATER_BROADCAST_ONLY: 'true' } }).gossipAddr, '255.255.255.255');
    assert.equal(load({ cwd, env: { ...secret, GATER_BROADCAST_ONLY: 'true', GATER_GOSSIP_ADDR: '10.0.0.255' } }).gossipAddr, '10.0.0.255');
    assertIssue(
      issuesOf(() => load({ cwd, env: { ...secret, GATER_BROADCAST_ONLY: 'true', GATER_GOSSIP_ADDR: '239.1.1.1' } })),
      'GATER_GOSSIP_ADDR',
      /multicast group 239.1.1.1, but broadcastOnly is set/,
    );
    assertIssue(
      issuesOf(() => load({ cwd, env: { EX_ESDB_GOSSIP_MULTICAST_ADDR: '255.255.255.255' } })),
      'EX_ESDB_GOSSIP_MULTICAST_ADDR',
      /not a multicast group .*GATER_BROADCAST_ONLY=true/,
    );
  });

  it('with multicast off, gossips to seeds only: any gossip address, and a warning when there are no seeds', async () => {
    const cwd = await workdir();
    const off = { GATER_GOSSIP_MULTICAST: 'false', GATER_GOSSIP_ADDR: '127.0.0.1' };
    const seeded = loadConfigReport({ cwd, env: { ...off, GATER_SEEDS: '127.0.0.1:46001' } });
    assert.equal(seeded.config.gossipMulticast, false);
    assert.deepEqual(seeded.warnings, []);
    const lonely = loadConfigReport({ cwd, env: off });
    assert.match(lonely.warnings.join('\n'), /gossipMulticast is off and no seeds are set/);
    assertIssue(issuesOf(() => load({ cwd, env: { GATER_GOSSIP_ADDR: '127.0.0.1' } })), 'GATER_GOSSIP_ADDR', /not a multicast group/);
  });

  it('refuses the same TCP port for HTTP and the mesh, except 0', async () => {
    const cwd = await workdir();
    assertIssue(issuesOf(() => load({ cwd, argv: ['--http-port', '5000', '--mesh-port', '5000'] })), '--mesh-port', /same TCP port as httpPort/);
    assert.equal(load({ cwd, argv: ['--http-port', '0', '--mesh-port', '0'] }).meshPort, 0);
  });

  it('needs a current secret for previous ones, and refuses secrets under 16 bytes without repeating them', async () => {
    const cwd = await workdir();
    assertIssue(
      issuesOf(() => load({ cwd, env: { GATER_CLUSTER_SECRET_PREVIOUS: SECRET } })),
      'GATER_CLUSTER_SECRET_PREVIOUS',
      /without GATER_CLUSTER_SECRET/,
    );
    const short = 'fifteen-bytes!!';
    const issues = issuesOf(() => load({ cwd, env: { GATER_CLUSTER_SECRET: short, GATER_CLUSTER_SECRET_PREVIOUS: `${SECRET},${short}` } }));
    assertIssue(issues, 'GATER_CLUSTER_SECRET', /must be at least 16 bytes \(this one has 15\)$/);
    assertIssue(issues, 'GATER_CLUSTER_SECRET_PREVIOUS', /item 2 must be at least 16 bytes/);
    assert.ok(!JSON.stringify(issues).includes(short), 'a secret is repeated in an error');
    const ok = load({ cwd, env: { GATER_CLUSTER_SECRET: SECRET, GATER_CLUSTER_SECRET_PREVIOUS: `${SECRET}-old1,${SECRET}-old2` } });
    assert.deepEqual(ok.clusterSecretPrevious, [`${SECRET}-old1`, `${SECRET}-old2`]);
  });
});

describe('loadConfig: a node reachable beyond loopback needs a secret', () => {
  const exposed: [string, Record<string, string>, RegExp][] = [
    ['gossip on a LAN interface', { GATER_GOSSIP_IF: '10.0.0.5' }, /gossipIf is 10.0.0.5/],
    ['gossip on every interface', { GATER_GOSSIP_IF: '0.0.0.0' }, /gossipIf is 0.0.0.0/],
    ['broadcast', { GATER_BROADCAST_ONLY: 'yes' }, /broadcastOnly is set/],
    ['a remote seed', { GATER_SEEDS: '127.0.0.1:45892,gater-2.internal:45892' }, /seeds include gater-2.internal:45892/],
    ['the mesh on a LAN address', { GATER_MESH_HOST: '192.168.1.4' }, /meshHost is 192.168.1.4/],
  ];
  for (const [what, env, reason] of exposed) {
    it(`refuses ${what} without a secret, saying how to set one`, async () => {
      const cwd = await workdir();
      const issues = issuesOf(() => load({ cwd, env }));
      assertIssue(issues, 'clusterSecret', reason);
      assertIssue(issues, 'clusterSecret', /set GATER_CLUSTER_SECRET to at least 16 random bytes/);
      assert.equal(load({ cwd, env: { ...env, GATER_CLUSTER_SECRET: SECRET } }).clusterSecret, SECRET);
    });
  }

  it('lets a loopback-only node run without one', async () => {
    const c = load({
      cwd: await workdir(),
      env: { GATER_GOSSIP_IF: '127.0.0.7', GATER_SEEDS: 'localhost:1,127.0.0.2:2', GATER_MESH_HOST: '::1' },
    });
    assert.equal(c.clusterSecret, undefined);
  });

  it('keeps the mesh where gossip is unless told otherwise', async () => {
    const c = load({ cwd: await workdir(), env: { GATER_GOSSIP_IF: '10.0.0.5', GATER_CLUSTER_SECRET: SECRET } });
    assert.equal(c.meshHost, '10.0.0.5');
  });
});

describe('redactConfig', () => {
  it('hides every secret, keeps the rest, and leaves the config untouched', async () => {
    const c = load({
      cwd: await workdir(),
      env: {
        GATER_CLUSTER_SECRET: SECRET,
        GATER_CLUSTER_SECRET_PREVIOUS: `${SECRET}-old`,
        GATER_STORE_BACKEND: 'postgres',
        GATER_PG_URL: 'postgres://gater:pg-password-1@db.internal:5432/events',
      },
    });
    const r = redactConfig(c);
    assert.equal(r.clusterSecret, '[redacted]');
    assert.deepEqual(r.clusterSecretPrevious, ['[redacted]']);
    assert.equal(r.pgUrl, 'postgres://gater:[redacted]@db.internal:5432/events');
    assert.equal(r.httpPort, 4001);
    assert.deepEqual(r.stores, ['default']);
    const text = JSON.stringify(r);
    assert.ok(!text.includes(SECRET) && !text.includes('pg-password-1'), text);
    assert.equal(c.clusterSecret, SECRET);
  });

  it('leaves unset secrets undefined, so it shows that none is set', async () => {
    const r = redactConfig(load({ cwd: await workdir() }));
    assert.equal(r.clusterSecret, undefined);
    assert.deepEqual(r.clusterSecretPrevious, []);
  });
});
