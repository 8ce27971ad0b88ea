/**
 * Every option is documented: config/README.md has a row for it naming its variables, flag and default, and
 * config/gater.example.json lists it with its default (fastify's "every error code is documented" test, for options).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CONFIG_KEYS, OPTIONS, type OptionSpec } from '../../src/config/index.ts';
import { TOOL_ENV } from '../../src/config/tool-env.ts';

const configDir = join(import.meta.dirname, '..', '..', 'config');
const readme = readFileSync(join(configDir, 'README.md'), 'utf8');
const example = JSON.parse(readFileSync(join(configDir, 'gater.example.json'), 'utf8')) as Record<string, unknown>;

/** The cells of the options table row whose first cell is `key`. */
function rowOf(key: string): string[] | undefined {
  const line = readme.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
  return line?.split(' | ').map((cell) => cell.replace(/^\| |\s\|$/g, '').trim());
}

describe('config/README.md', () => {
  for (const key of CONFIG_KEYS) {
    it(`documents ${key}: variables, flag, unit and default`, () => {
      const spec: OptionSpec<unknown> = OPTIONS[key];
      const row = rowOf(key);
      assert.ok(row, `config/README.md has no row for option ${key}`);
      const [, env, flag, unit, defaultText, meaning] = row;
      assert.deepEqual(env?.split('<br>'), spec.env.map((name) => `\`${name}\``), `${key}: environment column`);
      assert.equal(flag, spec.flag === undefined ? '—' : `\`--${spec.flag}\``, `${key}: flag column`);
      assert.equal(unit, spec.unit ?? '', `${key}: unit column`);
      assert.equal(defaultText, spec.defaultText, `${key}: default column`);
      assert.ok((meaning ?? '').length > 10, `${key}: meaning column`);
    });
  }

  it('lists every seed alias in the alias table', () => {
    const aliases = CONFIG_KEYS.flatMap((key) => OPTIONS[key].env.slice(1));
    assert.ok(aliases.length >= 6);
    for (const alias of aliases) assert.match(readme, new RegExp(`^\\| \`${alias}\` \\|`, 'm'), `${alias} missing from the alias table`);
  });

  it("names every GATER_ variable of the project's tools that the node lets through", () => {
    for (const name of Object.keys(TOOL_ENV)) assert.ok(readme.includes(`\`${name}\``), `${name} is not in config/README.md`);
  });

  it('has no row for an option that does not exist', () => {
    const documented = [...readme.matchAll(/^\| `([a-zA-Z]+)` \| `GATER_/gm)].map((m) => m[1]);
    assert.deepEqual(documented, CONFIG_KEYS);
  });
});

describe('config/gater.example.json', () => {
  it('lists every option, in the table order', () => {
    assert.deepEqual(Object.keys(example), CONFIG_KEYS);
  });

  it('gives each its fixed default, or null where the default is computed or absent', () => {
    for (const key of CONFIG_KEYS) {
      const spec: OptionSpec<unknown> = OPTIONS[key];
      const expected = typeof spec.default === 'function' || spec.default === undefined ? null : spec.default;
      assert.deepEqual(example[key], expected, key);
    }
  });
});

describe('src/config/gater-config.ts', () => {
  const source = readFileSync(join(import.meta.dirname, '..', '..', 'src', 'config', 'gater-config.ts'), 'utf8');
  /** The `@default` text of each field's doc comment, by field. */
  const documented = new Map(
    [...source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*readonly (\w+):/g)].flatMap(([, doc, key]) => {
      const match = /@default\s+([\s\S]*)$/.exec(doc!);
      return match === null ? [] : [[key!, match[1]!.replace(/\s*\*\s*/g, ' ').trim()] as const];
    }),
  );

  it('gives each field with a fixed default that default in its @default', () => {
    for (const key of CONFIG_KEYS) {
      const spec: OptionSpec<unknown> = OPTIONS[key];
      if (spec.default === undefined) {
        assert.equal(documented.get(key), undefined, `${key} has no default, but its doc names one`);
        continue;
      }
      const doc = documented.get(key);
      assert.ok(doc, `${key}: no @default in its doc comment`);
      if (typeof spec.default === 'function') continue;
      // As TypeScript spells the value: 'text', 5000, true, ['a'], [].
      const literal = JSON.stringify(spec.default).replace(/"/g, "'").replace(/','/g, "', '");
      const rest = doc.startsWith(literal) ? doc.slice(literal.length) : undefined;
      assert.ok(rest !== undefined && /^(|[ ,].*)$/s.test(rest), `${key}: @default ${doc}, but the default is ${literal}`);
    }
  });
});
