import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadConfig, type GaterConfig } from '../../src/config/index.ts';
import { GaterError } from '../../src/errors/index.ts';
import { component, createLogger, type LoggerInit } from '../../src/log/index.ts';

const SECRET = 'S3CRET-never-in-a-log-7f3a9c';
const OLD_SECRET = 'OLD-S3CRET-never-in-a-log-2b8e';
const PG_PASSWORD = 'pg-pass-never-in-a-log';

/** A destination that keeps what is written. */
function capture(): { write(line: string): void; text(): string; lines(): Record<string, unknown>[] } {
  const chunks: string[] = [];
  return {
    write: (line) => void chunks.push(line),
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function logger(init: LoggerInit = {}) {
  const out = capture();
  return { out, log: createLogger({ format: 'json', ...init, destination: out }) };
}

let dir: string;
let config: GaterConfig;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gater-log-'));
  config = loadConfig({
    cwd: dir,
    env: {
      GATER_CLUSTER_SECRET: SECRET,
      GATER_CLUSTER_SECRET_PREVIOUS: OLD_SECRET,
      GATER_STORE_BACKEND: 'postgres',
      GATER_PG_URL: `postgres://gater:${PG_PASSWORD}@db.internal:5432/events`,
      GATER_GOSSIP_IF: '10.1.2.3',
    },
  });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createLogger', () => {
  it('writes JSON lines with the level name, node name and id, and a component tag', () => {
    const { out, log } = logger({ nodeName: 'n1', nodeId: 'peer-1', level: 'debug' });
    component(log, 'discovery').debug({ peers: 2 }, 'beacon sent');
    log.trace('not at debug');
    const [line, ...rest] = out.lines();
    assert.equal(rest.length, 0, 'trace is below debug');
    assert.equal(line?.['level'], 'debug');
    assert.equal(line?.['nodeName'], 'n1');
    assert.equal(line?.['nodeId'], 'peer-1');
    assert.equal(line?.['component'], 'discovery');
    assert.equal(line?.['peers'], 2);
    assert.equal(line?.['msg'], 'beacon sent');
    assert.equal(line?.['pid'], process.pid);
  });

  it('logs errors under err, with their code and cause', () => {
    const { out, log } = logger();
    const cause = new Error('disk full');
    log.error({ err: new GaterError('unavailable', 'store closed', { store: 'a' }, { cause }) }, 'append failed');
    log.error(new Error('thrown directly'));
    const [first, second] = out.lines();
    const err = first?.['err'] as Record<string, unknown>;
    assert.equal(err['message'], 'store closed');
    assert.equal(err['code'], 'unavailable');
    assert.deepEqual(err['data'], { store: 'a' });
    assert.match(String(err['stack']), /GaterError: store closed/);
    assert.equal((err['cause'] as Record<string, unknown>)['message'], 'disk full');
    assert.equal((second?.['err'] as Record<string, unknown>)['message'], 'thrown directly');
  });

  it('is JSON when auto and not a terminal, pretty when auto on a terminal', () => {
    const json = capture();
    createLogger({ format: 'auto', tty: false, destination: json }).info('hello');
    assert.equal(json.lines()[0]?.['msg'], 'hello');

    const terminal = capture();
    createLogger({ format: 'auto', tty: true, destination: terminal }).info({ answer: 42 }, 'hello');
    const text = stripVTControlCharacters(terminal.text());
    assert.notEqual(text, terminal.text(), 'a terminal gets colours');
    assert.throws(() => JSON.parse(text.split('\n')[0] ?? ''), SyntaxError);
    assert.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: hello\n {4}answer: 42\n$/);

    const file = capture();
    component(createLogger({ format: 'pretty', tty: false, destination: file }), 'http').warn('listening');
    assert.match(file.text(), /^\[[\d:.]+\] WARN: \[http\] listening\n$/, 'no colours, component before the message');
  });

  it('writes nothing at level silent', () => {
    const { out, log } = logger({ level: 'silent' });
    log.fatal('nothing');
    assert.equal(out.text(), '');
  });
});

describe('createLogger: the cluster secret never appears', () => {
  function assertNoSecret(text: string): void {
    assert.ok(text.length > 0, 'nothing was logged');
    for (const secret of [SECRET, OLD_SECRET, PG_PASSWORD]) assert.ok(!text.includes(secret), `a secret leaked into: ${text}`);
  }

  for (const format of ['json', 'pretty'] as const) {
    it(`in ${format} output: a config object, top-level and nested, child bindings and an error`, () => {
      const out = capture();
      const log = createLogger({ format, destination: out, tty: false });
      log.info({ config }, 'configuration');
      log.info(config, 'configuration at the top level');
      log.child({ config }).info('child with the config bound');
      const err = Object.assign(new Error('gossip key derivation failed'), { clusterSecret: SECRET, secret: SECRET });
      log.error({ err }, 'failed');
      log.error({ peer: { secret: SECRET, password: PG_PASSWORD } }, 'peer refused');
      assertNoSecret(out.text());
      // Redaction hides the values, not the facts around them.
      assert.match(out.text(), /db\.internal:5432/);
      assert.match(out.text(), /gossip key derivation failed/);
      assert.match(out.text(), /\[redacted\]/);
    });
  }

  it('hides each secret in JSON as [redacted], and the pgUrl password only', () => {
    const { out, log } = logger();
    log.info({ config }, 'configuration');
    const logged = out.lines()[0]?.['config'] as Record<string, unknown>;
    assert.equal(logged['clusterSecret'], '[redacted]');
    assert.deepEqual(logged['clusterSecretPrevious'], ['[redacted]'], 'a list keeps its count');
    assert.equal(logged['pgUrl'], 'postgres://gater:[redacted]@db.internal:5432/events');
    assert.equal(logged['gossipIf'], '10.1.2.3');
    assert.equal(config.clusterSecret, SECRET, 'logging does not change the object');
  });

  it('shows a secret that is not set as not set, not as [redacted]', () => {
    const { out, log } = logger();
    const unset = loadConfig({ cwd: dir, env: {} });
    log.info({ config: unset }, 'configuration');
    log.info({ clusterSecret: undefined, pgUrl: null, secret: [] }, 'top level');
    const [nested, top] = out.lines();
    const logged = nested?.['config'] as Record<string, unknown>;
    assert.ok(!('clusterSecret' in logged) && !('pgUrl' in logged), JSON.stringify(logged));
    assert.deepEqual(logged['clusterSecretPrevious'], []);
    assert.ok(!('clusterSecret' in top!), JSON.stringify(top));
    assert.equal(top!['pgUrl'], null);
    assert.deepEqual(top!['secret'], []);
  });
});
