/**
 * Loads the configuration of a node: defaults < config file < environment < flags, every value validated, the result
 * deeply frozen. Pure apart from reading the config file: the environment, working directory and host name are
 * inputs, and nothing here exits the process.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from './config-error.ts';
import { DEFAULT_CONFIG_FILE, MIN_CLUSTER_SECRET_BYTES } from './defaults.ts';
import { scanFlags, type FlagSpec } from './flags.ts';
import type { ConfigKey, GaterConfig, SeedAddress } from './gater-config.ts';
import { isLoopbackHost, isMulticastV4 } from './net-scope.ts';
import { CONFIG_FILE_ENV, CONFIG_FILE_FLAG, CONFIG_KEYS, OPTIONS, type DefaultContext, type OptionSpec } from './options.ts';
import { ValueError, type Parser } from './parsers.ts';
import { GATER_ENV_PREFIX, SEED_ENV_PREFIX, UNUSED_SEED_ENV } from './seed-env.ts';
import { didYouMean } from './suggest.ts';
import { TOOL_ENV } from './tool-env.ts';

export interface LoadConfigInput {
  /** The flags of `gater start` (the arguments after the subcommand). @default [] */
  readonly argv?: readonly string[];
  /** The environment, usually `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory the config file and relative paths are resolved against, usually `process.cwd()`. */
  readonly cwd: string;
  /** The default of `nodeName`. @default os.hostname() */
  readonly hostname?: string;
}

export type ConfigLayer = 'default' | 'file' | 'env' | 'flag';

/** Where the value of an option came from: the layer, and the name it had there (`GATER_HTTP_PORT`, `--stores`). */
export interface ConfigSource {
  readonly layer: ConfigLayer;
  readonly name: string;
}

export interface ConfigReport {
  readonly config: GaterConfig;
  /** The config file that was read, if any (absolute). */
  readonly file: string | undefined;
  readonly sources: Readonly<Record<ConfigKey, ConfigSource>>;
  /** Things worth a log line that do not stop the start (an ignored seed variable, a shadowed alias). */
  readonly warnings: readonly string[];
}

/** Loads and validates the configuration; throws ConfigError naming every problem. */
export function loadConfig(input: LoadConfigInput): GaterConfig {
  return loadConfigReport(input).config;
}

/** As `loadConfig`, with where each value came from and the warnings to log. */
export function loadConfigReport(input: LoadConfigInput): ConfigReport {
  const loader = new ConfigLoader(input);
  return loader.load();
}

interface Setting {
  readonly value: unknown;
  readonly source: ConfigSource;
}

const FLAG_TO_KEY = new Map<string, ConfigKey>(
  CONFIG_KEYS.flatMap((key) => {
    const flag = OPTIONS[key].flag;
    return flag === undefined ? [] : [[flag, key] as const];
  }),
);

/** The flags a secret would have, to explain why it has none. */
const SECRET_FLAGS = new Map<string, ConfigKey>(
  CONFIG_KEYS.filter((key) => OPTIONS[key].secret === true).map((key) => [`--${kebab(key)}`, key]),
);

const FLAG_SPECS: Readonly<Record<string, FlagSpec>> = Object.fromEntries([
  [CONFIG_FILE_FLAG, { type: 'string' }],
  ...CONFIG_KEYS.flatMap((key) => {
    const spec: OptionSpec<unknown> = OPTIONS[key];
    return spec.flag === undefined ? [] : [[spec.flag, { type: spec.parser.switch === true ? 'boolean' : 'string' }]];
  }),
]);

const KNOWN_GATER_ENV = new Set([CONFIG_FILE_ENV, ...CONFIG_KEYS.flatMap((key) => OPTIONS[key].env)]);

class ConfigLoader {
  private readonly input: LoadConfigInput;
  private readonly issues: ConfigIssue[] = [];
  private readonly warnings: string[] = [];
  private readonly settings = new Map<ConfigKey, Setting>();
  /** Options given a value that was refused: a rule that needs one set must not also say it is missing. */
  private readonly refused = new Set<ConfigKey>();
  private file: string | undefined;

  constructor(input: LoadConfigInput) {
    this.input = input;
  }

  load(): ConfigReport {
    const flags = scanFlags(this.input.argv ?? [], FLAG_SPECS);
    for (const problem of flags.problems) {
      const key = SECRET_FLAGS.get(problem.flag);
      // A secret given as a flag would be visible to every user of the host (`ps`), so there is no such flag.
      const message =
        key === undefined
          ? problem.message
          : `is not accepted (a secret on the command line shows in the process list): set ${OPTIONS[key].env[0]} instead`;
      this.issue(problem.flag, message);
    }
    for (const positional of flags.positionals) this.issue(JSON.stringify(positional), 'is not a flag (flags start with --)');

    const fileFlag = flags.values.get(CONFIG_FILE_FLAG);
    const fileEnv = this.input.env[CONFIG_FILE_ENV];
    if (fileFlag !== undefined) this.readFile(String(fileFlag.value), `--${CONFIG_FILE_FLAG}`);
    else if (fileEnv !== undefined && fileEnv !== '') this.readFile(fileEnv, CONFIG_FILE_ENV);
    else this.readFile(DEFAULT_CONFIG_FILE, undefined);

    this.readEnv();

    for (const [name, flag] of flags.values) {
      const key = FLAG_TO_KEY.get(name);
      if (key !== undefined) this.set(key, flag.value, { layer: 'flag', name: flag.raw });
    }

    const config = this.complete();
    this.checkRules(config);
    if (this.issues.length > 0) throw new ConfigError(this.issues);
    const sources = Object.fromEntries(CONFIG_KEYS.map((key) => [key, this.sourceOf(key)])) as Record<ConfigKey, ConfigSource>;
    return deepFreeze({ config, file: this.file, sources, warnings: this.warnings });
  }

  /** Parses a value from a layer; a later layer's value replaces an earlier one, but every one is validated. */
  private set(key: ConfigKey, raw: unknown, source: ConfigSource, parser: Parser<unknown> = OPTIONS[key].parser): void {
    const spec: OptionSpec<unknown> = OPTIONS[key];
    try {
      this.settings.set(key, { value: parser.parse(raw), source });
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      this.refused.add(key);
      const shown = spec.secret === true ? '' : ` (got ${show(raw)})`;
      this.issue(source.name, `${err.message}${shown}`);
    }
  }

  private readFile(path: string, namedBy: string | undefined): void {
    const absolute = resolve(this.input.cwd, path);
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The default file is optional; a file the user named must exist.
      if (namedBy === undefined && code === 'ENOENT') return;
      this.issue(namedBy ?? this.display(absolute), `names a config file that cannot be read (${code ?? String(err)}: ${absolute})`);
      return;
    }
    this.file = absolute;
    const where = this.display(absolute);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      // Only where: V8's message quotes the text around the error, which may be the cluster secret.
      this.issue(where, `is not valid JSON${jsonErrorPlace(text, (err as Error).message)}`);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.issue(where, 'must hold a JSON object of options');
      return;
    }
    for (const [name, value] of Object.entries(parsed)) {
      if (!Object.hasOwn(OPTIONS, name)) {
        this.issue(`${where}: ${name}`, `is not a known option${didYouMean(name, CONFIG_KEYS)}`);
        continue;
      }
      // null means "not set here", so the example file can list options that have no fixed default.
      if (value === null) continue;
      this.set(name as ConfigKey, value, { layer: 'file', name: `${where}: ${name}` });
    }
  }

  private readEnv(): void {
    const env = this.input.env;
    for (const key of CONFIG_KEYS) {
      const spec: OptionSpec<unknown> = OPTIONS[key];
      const parserOf = (name: string): Parser<unknown> => spec.envParsers?.[name] ?? spec.parser;
      const present = spec.env.filter((name) => {
        const value = env[name];
        // An empty value is "not set" (as docker compose passes an unset ${VAR}), except for a list, where it is [].
        return value !== undefined && (value !== '' || parserOf(name).list);
      });
      const [winner, ...shadowed] = present;
      if (winner === undefined) continue;
      for (const name of shadowed) this.warnings.push(`${name} is ignored because ${winner} is set`);
      this.set(key, env[winner], { layer: 'env', name: winner }, parserOf(winner));
    }
    for (const name of Object.keys(env)) {
      if (name.startsWith(GATER_ENV_PREFIX) && !KNOWN_GATER_ENV.has(name) && !Object.hasOwn(TOOL_ENV, name)) {
        this.issue(name, `is not a gater setting${didYouMean(name, KNOWN_GATER_ENV)}`);
      } else if (name.startsWith(SEED_ENV_PREFIX) && !KNOWN_GATER_ENV.has(name)) {
        const reason = UNUSED_SEED_ENV[name] ?? 'gater has no such setting';
        this.warnings.push(`${name} is ignored: ${reason}`);
      }
    }
  }

  /** Fills defaults (fixed ones first, then those computed from other options) and builds the typed config. */
  private complete(): GaterConfig {
    const values = new Map<ConfigKey, unknown>();
    for (const key of CONFIG_KEYS) {
      const spec: OptionSpec<unknown> = OPTIONS[key];
      const setting = this.settings.get(key);
      if (setting !== undefined) values.set(key, setting.value);
      else if (typeof spec.default !== 'function') values.set(key, spec.default);
    }
    const context: DefaultContext = {
      hostname: this.input.hostname ?? osHostname(),
      broadcastOnly: values.get('broadcastOnly') as boolean,
      gossipIf: values.get('gossipIf') as string,
    };
    for (const key of CONFIG_KEYS) {
      const spec: OptionSpec<unknown> = OPTIONS[key];
      if (values.has(key) || typeof spec.default !== 'function') continue;
      const value = spec.default(context);
      try {
        values.set(key, spec.parser.parse(value));
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        this.issue(key, `defaults to ${show(value)}, which ${err.message}: set ${spec.env[0]}`);
        values.set(key, value);
      }
    }
    values.set('dataDir', resolve(this.input.cwd, values.get('dataDir') as string));
    return Object.fromEntries(CONFIG_KEYS.map((key) => [key, values.get(key)])) as unknown as GaterConfig;
  }

  /** Rules that span options. */
  private checkRules(c: GaterConfig): void {
    if (c.storeBackend === 'postgres' && c.pgUrl === undefined && !this.refused.has('pgUrl')) {
      this.issue('pgUrl', `is required when storeBackend is postgres (${this.sourceOf('storeBackend').name}): set GATER_PG_URL`);
    }
    if (c.storeBackend !== 'postgres' && c.pgUrl !== undefined) {
      this.warnings.push(`${this.sourceOf('pgUrl').name} is ignored: storeBackend is ${c.storeBackend}`);
    }
    if (c.broadcastOnly && isMulticastV4(c.gossipAddr)) {
      this.issue(
        this.sourceOf('gossipAddr').name,
        `is the multicast group ${c.gossipAddr}, but broadcastOnly is set: give a broadcast address such as 255.255.255.255`,
      );
    } else if (!c.broadcastOnly && c.gossipMulticast && !isMulticastV4(c.gossipAddr)) {
      this.issue(
        this.sourceOf('gossipAddr').name,
        `is ${c.gossipAddr}, not a multicast group (224.0.0.0–239.255.255.255): choose a group, or set GATER_BROADCAST_ONLY=true to gossip by broadcast`,
      );
    }
    if (!c.broadcastOnly && !c.gossipMulticast && c.seeds.length === 0) {
      this.warnings.push('gossipMulticast is off and no seeds are set: this node finds only peers that list it among their seeds');
    }
    if (c.httpPort !== 0 && c.httpPort === c.meshPort) {
      this.issue(this.sourceOf('meshPort').name, `is ${c.meshPort}, the same TCP port as httpPort`);
    }
    if (c.clusterSecret === undefined && c.clusterSecretPrevious.length > 0 && !this.refused.has('clusterSecret')) {
      this.issue('GATER_CLUSTER_SECRET_PREVIOUS', 'is set without GATER_CLUSTER_SECRET: rotation needs a current secret');
    }
    const exposure = exposureOf(c);
    if (c.clusterSecret === undefined && exposure.length > 0 && !this.refused.has('clusterSecret')) {
      this.issue(
        'clusterSecret',
        `is required because this node is reachable beyond loopback (${exposure.join(', ')}): set GATER_CLUSTER_SECRET ` +
          `to at least ${MIN_CLUSTER_SECRET_BYTES} random bytes, for example GATER_CLUSTER_SECRET=$(openssl rand -base64 24)`,
      );
    }
  }

  private sourceOf(key: ConfigKey): ConfigSource {
    return this.settings.get(key)?.source ?? { layer: 'default', name: key };
  }

  private issue(field: string, message: string): void {
    this.issues.push({ field, message });
  }

  private display(absolute: string): string {
    const rel = relative(this.input.cwd, absolute);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? absolute : rel;
  }
}

/** What takes gossip or the mesh beyond this host; empty for a loopback-only node. */
function exposureOf(c: GaterConfig): string[] {
  const out: string[] = [];
  if (!isLoopbackHost(c.gossipIf)) out.push(`gossipIf is ${c.gossipIf}`);
  if (c.broadcastOnly) out.push('broadcastOnly is set');
  const remote = c.seeds.filter((s: SeedAddress) => !isLoopbackHost(s.host));
  if (remote.length > 0) out.push(`seeds include ${remote.map((s) => `${s.host}:${s.port}`).join(', ')}`);
  if (!isLoopbackHost(c.meshHost)) out.push(`meshHost is ${c.meshHost}`);
  return out;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`);
}

const SHOWN_CHARS = 60;

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}…` : text;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** ` (line L, column C)` of a JSON.parse failure, from the position its message gives, or '' when it gives none. */
function jsonErrorPlace(text: string, message: string): string {
  const match = /position (\d+)/.exec(message);
  if (match === null) return /end of JSON input/i.test(message) ? ' (it ends too early)' : '';
  const before = text.slice(0, Number(match[1]));
  const line = before.split('\n').length;
  return ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}
