/** `gater console`: the interactive console (src/console/) against a node, in a terminal. */
import { formatIssue, scanFlags, type FlagSpec } from '../config/index.ts';
import { GaterClient } from '../client/index.ts';
import { ConsoleApp } from '../console/console-app.ts';
import { Terminal } from '../console/terminal.ts';
import type { CliIo } from './cli-io.ts';
import { stringFlag } from './client-command.ts';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.ts';
import { nodeUrl } from './node-url.ts';
import { CONSOLE_USAGE } from './usage.ts';

const FLAGS: Readonly<Record<string, FlagSpec>> = {
  url: { type: 'string' },
  store: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export interface ConsoleDeps {
  /** The terminal's streams. @default process.stdin and process.stdout */
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

/** The store the console works on unless `--store` names one, when the cluster has it. */
export const DEFAULT_STORE = 'default';

/** `default` when the cluster has it, else the first store it has (a cluster of store-1..3), else `default`. */
async function pickStore(client: GaterClient): Promise<string> {
  try {
    const stores = (await client.listStores({ deadlineMs: 2_000 })).map((s) => s.store).sort();
    return stores.includes(DEFAULT_STORE) ? DEFAULT_STORE : (stores[0] ?? DEFAULT_STORE);
  } catch {
    // The console says what is wrong with the node once it is up.
    return DEFAULT_STORE;
  }
}

export async function runConsole(argv: readonly string[], io: CliIo, deps: ConsoleDeps = {}): Promise<number> {
  const { values, positionals, problems } = scanFlags(argv, FLAGS);
  if (values.get('help')?.value === true) {
    io.stdout.write(CONSOLE_USAGE);
    return EXIT_OK;
  }
  const errors = [
    ...problems.map((p) => formatIssue({ field: p.flag, message: p.message })),
    ...positionals.map((p) => `${JSON.stringify(p)} is not a flag of gater console`),
  ];
  const given = values.get('store')?.value;
  let store = String(given ?? DEFAULT_STORE);
  const url = nodeUrl(stringFlag(values, 'url'), io.env, errors);
  let client: GaterClient | undefined;
  try {
    if (url !== undefined) client = new GaterClient({}, { url });
  } catch (err) {
    errors.push((err as Error).message.replace(/^url:/, '--url'));
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(store)) errors.push(`--store must be a store id (1 to 64 letters, digits, _ or -), got ${JSON.stringify(store)}`);
  const input = deps.input ?? process.stdin;
  const output = deps.output ?? process.stdout;
  if (errors.length === 0 && !(input.isTTY && output.isTTY)) {
    errors.push('the console needs a terminal; for scripts use gater append, read, observe or produce');
  }
  if (errors.length > 0 || client === undefined) {
    io.stderr.write(`gater console: ${errors.join('; ')}\n`);
    return EXIT_USAGE;
  }
  if (given === undefined) store = await pickStore(client);
  const app = new ConsoleApp({ client, terminal: new Terminal({ input, output }) }, { store });
  const unlisten = io.onStop(() => app.stop());
  try {
    await app.run();
  } finally {
    unlisten();
  }
  return EXIT_OK;
}
